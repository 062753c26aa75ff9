// RoBERTa and XLM-RoBERTa (transformers' modeling_roberta; XLM-R's file is a copy of it): BERT's layers under
// "roberta.", with fairseq's position numbering, and a classification head on <s> that has no pooler before it.
import { Dropout, Linear, Module, type Embedding } from "../../nn/index.js";
import { Tensor, reshape, slice, tanh } from "../../tensor/index.js";
import { BertEmbeddings, BertEncoder, BertPooler, bertPeftFacts, encodeWithBertLayers } from "../bert/modeling.js";
import { requestedRows, type EncoderInputs, type OutputRows } from "../encoder.js";
import { classificationLoss } from "../heads.js";
import type { ModelInput, ModelOutput, PeftModelFacts } from "../outputs.js";
import { PreTrainedModel, skipInit } from "../pretrained.js";
import { parseRobertaConfig, robertaConfigDict, robertaShape, type RobertaConfig } from "./config.js";

/** fairseq's make_positions as transformers' create_position_ids_from_input_ids computes it: each real token's
 *  position is padding_idx + pastLength + (its count among the row's non-pad tokens), and a pad's is padding_idx,
 *  whose row of the position table gets no gradient. Embeddings alone (PEFT's prompt methods) hide the pads, so
 *  HF numbers them padding_idx + 1, padding_idx + 2, ... and does not add the past length there. */
export function robertaPositionIds(x: EncoderInputs, paddingIdx: number): Tensor {
  const { batch, seq } = x;
  const out = new Int32Array(batch * seq);
  const ids = x.inputIds?.data;
  for (let b = 0; b < batch; b++) {
    let count = 0;
    for (let j = 0; j < seq; j++) {
      const i = b * seq + j;
      if (!ids) out[i] = paddingIdx + 1 + j;
      else out[i] = ids[i] === paddingIdx ? paddingIdx : paddingIdx + x.pastLength + ++count;
    }
  }
  return new Tensor(out, [batch, seq]);
}

class RobertaEmbeddings extends BertEmbeddings {
  constructor(readonly config: RobertaConfig) {
    super(config, config.padTokenId);
  }

  override get firstPosition(): number {
    return this.config.padTokenId + 1;
  }

  override positionIds(x: EncoderInputs): Tensor {
    return robertaPositionIds(x, this.config.padTokenId);
  }
}

export abstract class RobertaPreTrainedModel extends PreTrainedModel<RobertaConfig> {
  static parseConfig = parseRobertaConfig;
  static modelShape = robertaShape;
  readonly baseModelPrefix = "roberta";

  override configDict(): Record<string, unknown> {
    return robertaConfigDict(this.config);
  }

  /** Old checkpoints carry the position_ids buffer; newer transformers drops it silently. */
  override ignoredCheckpointKeys(): RegExp[] {
    return [/(^|\.)position_ids$/];
  }

  peftFacts(): PeftModelFacts {
    return bertPeftFacts(this.config, this.config.modelType);
  }
}

/** RobertaModel(config, add_pooling_layer): the heads build it without the pooler, as transformers does. */
export class RobertaModel extends RobertaPreTrainedModel {
  readonly embeddings: RobertaEmbeddings;
  readonly encoder: BertEncoder;
  readonly pooler: BertPooler | null;

  constructor(config: RobertaConfig, addPoolingLayer = true) {
    super(config);
    this.embeddings = this.addModule("embeddings", new RobertaEmbeddings(config));
    this.encoder = this.addModule("encoder", new BertEncoder(config));
    this.pooler = addPoolingLayer ? this.addModule("pooler", new BertPooler(config)) : null;
    this.postInit();
  }

  /** No head: logits is the last hidden state [batch, seq, hidden] (with `rows` "first", [batch, 1, hidden]);
   *  poolerOutput [batch, hidden] with a pooler. */
  forward(input: ModelInput, rows: OutputRows = requestedRows(input)): ModelOutput {
    const h = encodeWithBertLayers(this, this.config, input, rows);
    return { logits: h, lastHiddenState: h, poolerOutput: this.pooler?.forward(h) };
  }

  getInputEmbeddings(): Embedding {
    return this.embeddings.wordEmbeddings;
  }
}

/** RobertaClassificationHead: out_proj(dropout(tanh(dense(dropout(hidden[:, 0]))))), <s> being position 0. */
class RobertaClassificationHead extends Module {
  readonly dense: Linear;
  readonly dropout: Dropout;
  readonly outProj: Linear;

  constructor(config: RobertaConfig) {
    super();
    this.dense = this.addModule("dense", new Linear(config.hiddenSize, config.hiddenSize));
    this.dropout = this.addModule("dropout", new Dropout(config.classifierDropout ?? config.hiddenDropoutProb));
    this.outProj = this.addModule("out_proj", new Linear(config.hiddenSize, config.numLabels));
  }

  forward(h: Tensor): Tensor {
    const first = reshape(slice(h, 1, 0, 1), [h.shape[0], h.shape[2]]);
    return this.outProj.forward(this.dropout.forward(tanh(this.dense.forward(this.dropout.forward(first)))));
  }
}

export class RobertaForSequenceClassification extends RobertaPreTrainedModel {
  readonly roberta: RobertaModel;
  readonly classifier: RobertaClassificationHead;

  constructor(config: RobertaConfig) {
    super(config);
    this.roberta = this.addModule("roberta", skipInit(() => new RobertaModel(config, false)));
    this.classifier = this.addModule("classifier", new RobertaClassificationHead(config));
    this.postInit();
  }

  forward(input: ModelInput): ModelOutput {
    const rows = this.lastLayerRows(input);
    const h = this.roberta.forward(input, rows).lastHiddenState!;
    const logits = this.classifier.forward(h);
    const loss = input.labels === undefined ? undefined : classificationLoss(logits, input.labels, this.config);
    return { logits, loss, lastHiddenState: input.outputLastHiddenState ? h : undefined };
  }

  /** The whole head module, as PEFT wraps it: its dense and out_proj train and are saved together. */
  /** Its head reads position 0 alone. */
  override headReads(): OutputRows {
    return "first";
  }

  override classifierModules(): string[] {
    return ["classifier"];
  }

  getInputEmbeddings(): Embedding {
    return this.roberta.getInputEmbeddings();
  }
}

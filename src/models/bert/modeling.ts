// BERT (transformers' modeling_bert, eager attention, absolute positions). Self-attention takes per-layer
// past keys/values as BertSelfAttention's past_key_value does, which is how PEFT prefix tuning works.
import { Dropout, Embedding, LayerNorm, Linear, Module, ModuleList } from "../../nn/index.js";
import { Tensor, add, asTensor, reshape, slice, tanh, zeros } from "../../tensor/index.js";
import { encoderSelfAttention, paddingMask, type AdditiveMask } from "../attention.js";
import { outputRows, prepareEncoderInputs, requestedRows, type EncoderInputs, type OutputRows } from "../encoder.js";
import { addNorm, linearActivation, releaseIntermediates } from "../fused-layers.js";
import { classificationLoss } from "../heads.js";
import type { LayerPast, ModelInput, ModelOutput, PeftModelFacts } from "../outputs.js";
import { PreTrainedModel, skipInit } from "../pretrained.js";
import { bertConfigDict, bertShape, parseBertConfig, type BertConfig, type BertLayersConfig } from "./config.js";

export class BertEmbeddings extends Module {
  readonly wordEmbeddings: Embedding;
  readonly positionEmbeddings: Embedding;
  readonly tokenTypeEmbeddings: Embedding;
  readonly layerNorm: LayerNorm;
  readonly dropout: Dropout;

  /** `positionPaddingIdx`: a row of the position table that gets no gradient (RoBERTa's, where pads sit). */
  constructor(config: BertLayersConfig, positionPaddingIdx?: number) {
    super();
    const h = config.hiddenSize;
    this.wordEmbeddings = this.addModule("word_embeddings", new Embedding(config.vocabSize, h, config.padTokenId ?? undefined));
    this.positionEmbeddings = this.addModule("position_embeddings", new Embedding(config.maxPositionEmbeddings, h, positionPaddingIdx));
    this.tokenTypeEmbeddings = this.addModule("token_type_embeddings", new Embedding(config.typeVocabSize, h));
    this.layerNorm = this.addModule("LayerNorm", new LayerNorm(h, config.layerNormEps));
    this.dropout = this.addModule("dropout", new Dropout(config.hiddenDropoutProb));
  }

  /** The lowest position id a token can get (the max_position_embeddings check counts from it). */
  get firstPosition(): number {
    return 0;
  }

  /** BERT's positions run on after the past: [seq]. */
  positionIds(x: EncoderInputs): Tensor {
    return x.positionIds;
  }

  /** inputsEmbeds replaces the word lookup; token types, positions and LayerNorm apply either way. */
  forward(inputIds: Tensor | null, inputsEmbeds: Tensor | null, tokenTypeIds: Tensor, positionIds: Tensor): Tensor {
    const words = inputsEmbeds ?? this.wordEmbeddings.forward(inputIds!);
    const x = add(add(words, this.tokenTypeEmbeddings.forward(tokenTypeIds)), this.positionEmbeddings.forward(positionIds));
    return this.dropout.forward(this.layerNorm.forward(x));
  }
}

class BertSelfAttention extends Module {
  readonly query: Linear;
  readonly key: Linear;
  readonly value: Linear;

  constructor(readonly config: BertLayersConfig) {
    super();
    const h = config.hiddenSize;
    this.query = this.addModule("query", new Linear(h, h));
    this.key = this.addModule("key", new Linear(h, h));
    this.value = this.addModule("value", new Linear(h, h));
  }

  /** Queries from `xq` (x itself, or its first position when only that is read), keys and values from x. */
  forward(xq: Tensor, x: Tensor, mask: AdditiveMask, past?: LayerPast): Tensor {
    const q = this.query.forward(xq), k = this.key.forward(x), v = this.value.forward(x);
    return releaseIntermediates(encoderSelfAttention(q, k, v, {
      heads: this.config.numAttentionHeads, past, mask, dropoutP: this.config.attentionProbsDropoutProb, training: this.training,
    }), q, k, v);
  }
}

/** dense -> dropout -> LayerNorm(x + residual): BertSelfOutput and BertOutput. */
class BertResidualOutput extends Module {
  readonly dense: Linear;
  readonly layerNorm: LayerNorm;
  readonly dropout: Dropout;

  constructor(config: BertLayersConfig, inFeatures: number) {
    super();
    this.dense = this.addModule("dense", new Linear(inFeatures, config.hiddenSize));
    this.layerNorm = this.addModule("LayerNorm", new LayerNorm(config.hiddenSize, config.layerNormEps));
    this.dropout = this.addModule("dropout", new Dropout(config.hiddenDropoutProb));
  }

  forward(x: Tensor, residual: Tensor): Tensor {
    const d = this.dense.forward(x), dropped = this.dropout.forward(d);
    // In eval mode dropout hands back its input: that buffer must go back to the pool once, not twice.
    return releaseIntermediates(addNorm(this.layerNorm, dropped, residual), ...(dropped === d ? [d] : [d, dropped]));
  }
}

class BertAttention extends Module {
  readonly self: BertSelfAttention;
  readonly output: BertResidualOutput;

  constructor(config: BertLayersConfig) {
    super();
    this.self = this.addModule("self", new BertSelfAttention(config));
    this.output = this.addModule("output", new BertResidualOutput(config, config.hiddenSize));
  }

  forward(xq: Tensor, x: Tensor, mask: AdditiveMask, past?: LayerPast): Tensor {
    const context = this.self.forward(xq, x, mask, past);
    return releaseIntermediates(this.output.forward(context, xq), context);
  }
}

class BertIntermediate extends Module {
  readonly dense: Linear;

  constructor(readonly config: BertLayersConfig) {
    super();
    this.dense = this.addModule("dense", new Linear(config.hiddenSize, config.intermediateSize));
  }

  forward(x: Tensor): Tensor {
    return linearActivation(this.dense, this.config.hiddenAct, x);
  }
}

class BertLayer extends Module {
  readonly attention: BertAttention;
  readonly intermediate: BertIntermediate;
  readonly output: BertResidualOutput;

  constructor(config: BertLayersConfig) {
    super();
    this.attention = this.addModule("attention", new BertAttention(config));
    this.intermediate = this.addModule("intermediate", new BertIntermediate(config));
    this.output = this.addModule("output", new BertResidualOutput(config, config.intermediateSize));
  }

  forward(x: Tensor, mask: AdditiveMask, past?: LayerPast, rows: OutputRows = "all"): Tensor {
    const a = this.attention.forward(outputRows(x, rows), x, mask, past);
    const h = this.intermediate.forward(a);
    return releaseIntermediates(this.output.forward(h, a), h, a);
  }
}

export class BertEncoder extends Module {
  readonly layer: ModuleList<BertLayer>;

  constructor(config: BertLayersConfig) {
    super();
    this.layer = this.addModule("layer", new ModuleList(Array.from({ length: config.numHiddenLayers }, () => new BertLayer(config))));
  }
}

export class BertPooler extends Module {
  readonly dense: Linear;

  constructor(config: BertLayersConfig) {
    super();
    this.dense = this.addModule("dense", new Linear(config.hiddenSize, config.hiddenSize));
  }

  /** tanh(dense(hidden[:, 0])). */
  forward(h: Tensor): Tensor {
    return tanh(this.dense.forward(reshape(slice(h, 1, 0, 1), [h.shape[0], h.shape[2]])));
  }
}

/** What PEFT reads from the config of a model built from BERT's layers. */
export function bertPeftFacts(c: BertLayersConfig, modelType: string): PeftModelFacts {
  return { modelType, numLayers: c.numHiddenLayers, numAttentionHeads: c.numAttentionHeads, numKeyValueHeads: c.numAttentionHeads,
    hiddenSize: c.hiddenSize, headDim: c.hiddenSize / c.numAttentionHeads, vocabSize: c.vocabSize };
}

/** BertModel's embeddings and encoder on one input: the last hidden state [batch, seq, hidden] (with `rows`
 *  "first", [batch, 1, hidden]). Shared by every model built from BERT's layers; the embeddings number the positions. */
export function encodeWithBertLayers(m: { embeddings: BertEmbeddings; encoder: BertEncoder }, c: BertLayersConfig, input: ModelInput,
  rows: OutputRows = "all"): Tensor {
  const x = prepareEncoderInputs(input, c.numHiddenLayers, c.maxPositionEmbeddings, m.embeddings.firstPosition);
  const tokenTypeIds = input.tokenTypeIds === undefined ? zeros([x.batch, x.seq], { dtype: "int32" }) : asTensor(input.tokenTypeIds, "int32");
  if (tokenTypeIds.shape.join() !== `${x.batch},${x.seq}`)
    throw new RangeError(`tokenTypeIds must be [batch, seq] = [${x.batch}, ${x.seq}], got [${tokenTypeIds.shape}]`);
  let h = m.embeddings.forward(x.inputIds, x.inputsEmbeds, tokenTypeIds, m.embeddings.positionIds(x));
  const mask = paddingMask(x.attentionMask, "add");
  m.encoder.layer.items.forEach((layer, i) => { h = layer.forward(h, mask, x.past[i], i === c.numHiddenLayers - 1 ? rows : "all"); });
  return h;
}

abstract class BertPreTrainedModel extends PreTrainedModel<BertConfig> {
  static parseConfig = parseBertConfig;
  static modelShape = bertShape;
  readonly baseModelPrefix = "bert";

  override configDict(): Record<string, unknown> {
    return bertConfigDict(this.config);
  }

  /** Old checkpoints carry the position_ids buffer; newer transformers drops it silently. */
  override ignoredCheckpointKeys(): RegExp[] {
    return [/(^|\.)position_ids$/];
  }

  peftFacts(): PeftModelFacts {
    return bertPeftFacts(this.config, "bert");
  }
}

export class BertModel extends BertPreTrainedModel {
  readonly embeddings: BertEmbeddings;
  readonly encoder: BertEncoder;
  readonly pooler: BertPooler;

  constructor(config: BertConfig) {
    super(config);
    this.embeddings = this.addModule("embeddings", new BertEmbeddings(config));
    this.encoder = this.addModule("encoder", new BertEncoder(config));
    this.pooler = this.addModule("pooler", new BertPooler(config));
    this.postInit();
  }

  /** No head: logits is the last hidden state [batch, seq, hidden] (with `rows` "first", [batch, 1, hidden]);
   *  poolerOutput [batch, hidden]. */
  forward(input: ModelInput, rows: OutputRows = requestedRows(input)): ModelOutput {
    const h = encodeWithBertLayers(this, this.config, input, rows);
    return { logits: h, lastHiddenState: h, poolerOutput: this.pooler.forward(h) };
  }

  getInputEmbeddings(): Embedding {
    return this.embeddings.wordEmbeddings;
  }
}

export class BertForSequenceClassification extends BertPreTrainedModel {
  readonly bert: BertModel;
  readonly dropout: Dropout;
  readonly classifier: Linear;

  constructor(config: BertConfig) {
    super(config);
    this.bert = this.addModule("bert", skipInit(() => new BertModel(config)));
    this.dropout = this.addModule("dropout", new Dropout(config.classifierDropout ?? config.hiddenDropoutProb));
    this.classifier = this.addModule("classifier", new Linear(config.hiddenSize, config.numLabels));
    this.postInit();
  }

  forward(input: ModelInput): ModelOutput {
    const rows = this.lastLayerRows(input);
    const out = this.bert.forward(input, rows);
    const logits = this.classifier.forward(this.dropout.forward(out.poolerOutput!));
    const loss = input.labels === undefined ? undefined : classificationLoss(logits, input.labels, this.config);
    return { logits, loss, lastHiddenState: input.outputLastHiddenState ? out.lastHiddenState : undefined, poolerOutput: out.poolerOutput };
  }

  /** Its head reads position 0 alone. */
  override headReads(): OutputRows {
    return "first";
  }

  override classifierModules(): string[] {
    return ["classifier"];
  }

  getInputEmbeddings(): Embedding {
    return this.bert.getInputEmbeddings();
  }
}

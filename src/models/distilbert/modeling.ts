// DistilBERT (transformers' modeling_distilbert, eager attention), with past keys/values per layer so
// prefix tuning works on it too (an extension: HF PEFT refuses DistilBERT prefix tuning).
import { Dropout, Embedding, LayerNorm, Linear, Module, ModuleList } from "../../nn/index.js";
import { Tensor, add, embedding, relu, reshape, slice } from "../../tensor/index.js";
import { encoderSelfAttention, paddingMask, type AdditiveMask } from "../attention.js";
import { outputRows, prepareEncoderInputs, requestedRows, type OutputRows } from "../encoder.js";
import { addNorm, linearActivation, releaseIntermediates } from "../fused-layers.js";
import { classificationLoss } from "../heads.js";
import type { LayerPast, ModelInput, ModelOutput, PeftModelFacts } from "../outputs.js";
import { PreTrainedModel, skipInit } from "../pretrained.js";
import { distilBertConfigDict, distilBertShape, parseDistilBertConfig, type DistilBertConfig } from "./config.js";

/** DistilBERT hard-codes this eps in every LayerNorm. */
const LN_EPS = 1e-12;

class Embeddings extends Module {
  readonly wordEmbeddings: Embedding;
  readonly positionEmbeddings: Embedding;
  readonly layerNorm: LayerNorm;
  readonly dropout: Dropout;

  constructor(readonly config: DistilBertConfig) {
    super();
    this.wordEmbeddings = this.addModule("word_embeddings", new Embedding(config.vocabSize, config.dim, config.padTokenId ?? undefined));
    this.positionEmbeddings = this.addModule("position_embeddings", new Embedding(config.maxPositionEmbeddings, config.dim));
    if (config.sinusoidalPosEmbds) fillSinusoidal(this.positionEmbeddings.weight);
    this.layerNorm = this.addModule("LayerNorm", new LayerNorm(config.dim, LN_EPS));
    this.dropout = this.addModule("dropout", new Dropout(config.dropout));
  }

  /** inputsEmbeds replaces the word lookup; positions and LayerNorm apply either way. */
  forward(inputIds: Tensor | null, inputsEmbeds: Tensor | null, positionIds: Tensor): Tensor {
    const words = inputsEmbeds ?? this.wordEmbeddings.forward(inputIds!);
    const positions = embedding(this.positionEmbeddings.weight, positionIds);
    return this.dropout.forward(this.layerNorm.forward(add(words, positions)));
  }
}

/** create_sinusoidal_embeddings: fixed, not trained. */
export function fillSinusoidal(weight: Tensor): void {
  const [nPos, dim] = weight.shape;
  for (let pos = 0; pos < nPos; pos++) {
    for (let j = 0; j < dim; j++) {
      const angle = pos / Math.pow(10000, (2 * Math.floor(j / 2)) / dim);
      weight.data[pos * dim + j] = j % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  weight.requiresGrad = false;
}

class MultiHeadSelfAttention extends Module {
  readonly qLin: Linear;
  readonly kLin: Linear;
  readonly vLin: Linear;
  readonly outLin: Linear;

  constructor(readonly config: DistilBertConfig) {
    super();
    const d = config.dim;
    this.qLin = this.addModule("q_lin", new Linear(d, d));
    this.kLin = this.addModule("k_lin", new Linear(d, d));
    this.vLin = this.addModule("v_lin", new Linear(d, d));
    this.outLin = this.addModule("out_lin", new Linear(d, d));
  }

  /** Queries from `xq` (x itself, or its first position when only that is read), keys and values from x. */
  forward(xq: Tensor, x: Tensor, mask: AdditiveMask, past?: LayerPast): Tensor {
    const q = this.qLin.forward(xq), k = this.kLin.forward(x), v = this.vLin.forward(x);
    const ctx = releaseIntermediates(encoderSelfAttention(q, k, v, {
      heads: this.config.nHeads, past, mask, dropoutP: this.config.attentionDropout, training: this.training,
    }), q, k, v);
    return releaseIntermediates(this.outLin.forward(ctx), ctx);
  }
}

class FFN extends Module {
  readonly lin1: Linear;
  readonly lin2: Linear;
  readonly dropout: Dropout;

  constructor(readonly config: DistilBertConfig) {
    super();
    this.lin1 = this.addModule("lin1", new Linear(config.dim, config.hiddenDim));
    this.lin2 = this.addModule("lin2", new Linear(config.hiddenDim, config.dim));
    this.dropout = this.addModule("dropout", new Dropout(config.dropout));
  }

  forward(x: Tensor): Tensor {
    const h = linearActivation(this.lin1, this.config.activation, x);
    return this.dropout.forward(releaseIntermediates(this.lin2.forward(h), h));
  }
}

class TransformerBlock extends Module {
  readonly attention: MultiHeadSelfAttention;
  readonly saLayerNorm: LayerNorm;
  readonly ffn: FFN;
  readonly outputLayerNorm: LayerNorm;

  constructor(config: DistilBertConfig) {
    super();
    this.attention = this.addModule("attention", new MultiHeadSelfAttention(config));
    this.saLayerNorm = this.addModule("sa_layer_norm", new LayerNorm(config.dim, LN_EPS));
    this.ffn = this.addModule("ffn", new FFN(config));
    this.outputLayerNorm = this.addModule("output_layer_norm", new LayerNorm(config.dim, LN_EPS));
  }

  forward(x: Tensor, mask: AdditiveMask, past?: LayerPast, rows: OutputRows = "all"): Tensor {
    const xq = outputRows(x, rows);
    const a = this.attention.forward(xq, x, mask, past);
    const sa = releaseIntermediates(addNorm(this.saLayerNorm, a, xq), a);
    const f = this.ffn.forward(sa);
    return releaseIntermediates(addNorm(this.outputLayerNorm, f, sa), f, sa);
  }
}

class Transformer extends Module {
  readonly layer: ModuleList<TransformerBlock>;

  constructor(config: DistilBertConfig) {
    super();
    this.layer = this.addModule("layer", new ModuleList(Array.from({ length: config.nLayers }, () => new TransformerBlock(config))));
  }
}

abstract class DistilBertPreTrainedModel extends PreTrainedModel<DistilBertConfig> {
  static parseConfig = parseDistilBertConfig;
  static modelShape = distilBertShape;
  readonly baseModelPrefix = "distilbert";

  override configDict(): Record<string, unknown> {
    return distilBertConfigDict(this.config);
  }

  override initMissingWeights(module: Module, names: ReadonlySet<string>): void {
    if (this.config.sinusoidalPosEmbds && module === this.getPositionEmbeddings()) fillSinusoidal(this.getPositionEmbeddings().weight);
    else super.initMissingWeights(module, names);
  }

  peftFacts(): PeftModelFacts {
    const c = this.config;
    return { modelType: "distilbert", numLayers: c.nLayers, numAttentionHeads: c.nHeads, numKeyValueHeads: c.nHeads,
      hiddenSize: c.dim, headDim: c.dim / c.nHeads, vocabSize: c.vocabSize };
  }

  protected abstract getPositionEmbeddings(): Embedding;
}

export class DistilBertModel extends DistilBertPreTrainedModel {
  readonly embeddings: Embeddings;
  readonly transformer: Transformer;

  constructor(config: DistilBertConfig) {
    super(config);
    this.embeddings = this.addModule("embeddings", new Embeddings(config));
    this.transformer = this.addModule("transformer", new Transformer(config));
    this.postInit();
  }

  /** No head: logits is the last hidden state [batch, seq, dim] (with `rows` "first", [batch, 1, dim]). */
  forward(input: ModelInput, rows: OutputRows = requestedRows(input)): ModelOutput {
    const c = this.config;
    const x = prepareEncoderInputs(input, c.nLayers, c.maxPositionEmbeddings);
    let h = this.embeddings.forward(x.inputIds, x.inputsEmbeds, x.positionIds);
    const mask = paddingMask(x.attentionMask, "fill");
    this.transformer.layer.items.forEach((block, i) => { h = block.forward(h, mask, x.past[i], i === c.nLayers - 1 ? rows : "all"); });
    return { logits: h, lastHiddenState: h };
  }

  getInputEmbeddings(): Embedding {
    return this.embeddings.wordEmbeddings;
  }

  protected getPositionEmbeddings(): Embedding {
    return this.embeddings.positionEmbeddings;
  }
}

export class DistilBertForSequenceClassification extends DistilBertPreTrainedModel {
  readonly distilbert: DistilBertModel;
  readonly preClassifier: Linear;
  readonly classifier: Linear;
  readonly dropout: Dropout;

  constructor(config: DistilBertConfig) {
    super(config);
    this.distilbert = this.addModule("distilbert", skipInit(() => new DistilBertModel(config)));
    this.preClassifier = this.addModule("pre_classifier", new Linear(config.dim, config.dim));
    this.classifier = this.addModule("classifier", new Linear(config.dim, config.numLabels));
    this.dropout = this.addModule("dropout", new Dropout(config.seqClassifDropout));
    this.postInit();
  }

  /** Classifies from position 0 (the first virtual token under prompt tuning). */
  forward(input: ModelInput): ModelOutput {
    const rows = this.lastLayerRows(input);
    const h = this.distilbert.forward(input, rows).lastHiddenState!;
    const first = reshape(slice(h, 1, 0, 1), [h.shape[0], h.shape[2]]);
    const logits = this.classifier.forward(this.dropout.forward(relu(this.preClassifier.forward(first))));
    const loss = input.labels === undefined ? undefined : classificationLoss(logits, input.labels, this.config);
    return { logits, loss, lastHiddenState: input.outputLastHiddenState ? h : undefined };
  }

  /** Its head reads position 0 alone. */
  override headReads(): OutputRows {
    return "first";
  }

  override classifierModules(): string[] {
    return ["pre_classifier", "classifier"];
  }

  getInputEmbeddings(): Embedding {
    return this.distilbert.getInputEmbeddings();
  }

  protected getPositionEmbeddings(): Embedding {
    return this.distilbert.embeddings.positionEmbeddings;
  }
}

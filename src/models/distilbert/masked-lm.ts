// DistilBertForMaskedLM as transformers defines it: vocab_transform -> activation -> vocab_layer_norm ->
// vocab_projector, the projector's weight tied to the word embeddings (saved once, under the embeddings).
import { Embedding, LayerNorm, Linear, Module } from "../../nn/index.js";
import { Tensor, asTensor, crossEntropy, indexSelect, reshape } from "../../tensor/index.js";
import { IGNORE_INDEX } from "../../data/collate.js";
import { ACTIVATIONS } from "../config.js";
import type { MaskedLoss, ModelInput, ModelOutput, PeftModelFacts, TensorLike } from "../outputs.js";
import { PreTrainedModel, skipInit } from "../pretrained.js";
import { distilBertConfigDict, distilBertShape, parseDistilBertConfig, type DistilBertConfig } from "./config.js";
import { DistilBertModel } from "./modeling.js";

export class DistilBertForMaskedLM extends PreTrainedModel<DistilBertConfig> {
  static parseConfig = parseDistilBertConfig;
  static modelShape = distilBertShape;
  readonly baseModelPrefix = "distilbert";
  readonly distilbert: DistilBertModel;
  readonly vocabTransform: Linear;
  readonly vocabLayerNorm: LayerNorm;
  readonly vocabProjector: Linear;

  constructor(config: DistilBertConfig) {
    super(config);
    this.distilbert = this.addModule("distilbert", skipInit(() => new DistilBertModel(config)));
    this.vocabTransform = this.addModule("vocab_transform", new Linear(config.dim, config.dim));
    this.vocabLayerNorm = this.addModule("vocab_layer_norm", new LayerNorm(config.dim, 1e-12));
    this.vocabProjector = this.addModule("vocab_projector", new Linear(config.dim, config.vocabSize));
    this.postInit();
    // Tied after the init pass, as transformers' tie_weights runs after _init_weights: the embedding's
    // padding row stays zero.
    if (this.tied()) this.vocabProjector.setParameter("weight", this.distilbert.embeddings.wordEmbeddings.weight);
  }

  /** logits [batch, seq, vocab] at every position; with labels [batch, seq] (-100 = ignored) the mean loss. */
  forward(input: ModelInput): ModelOutput {
    const h = this.distilbert.forward(input).lastHiddenState!;
    const logits = this.head(h);
    const loss = input.labels === undefined ? undefined : maskedLmLoss(logits, input.labels);
    return { logits, loss, lastHiddenState: h };
  }

  /** forward's loss with the vocabulary projection computed only where labels are set (about 15% of
   *  positions in pretraining): the same value for a fraction of the work. */
  maskedLoss(input: ModelInput & { labels: Tensor }): MaskedLoss {
    const h = this.distilbert.forward(input).lastHiddenState!;
    const { hidden, targets } = labelledRows(h, input.labels);
    return { loss: maskedLmLoss(this.head(hidden), targets), lastHiddenState: h };
  }

  private head(h: Tensor): Tensor {
    const t = ACTIVATIONS[this.config.activation](this.vocabTransform.forward(h));
    return this.vocabProjector.forward(this.vocabLayerNorm.forward(t));
  }

  private tied(): boolean {
    return this.config.raw.tie_word_embeddings !== false;
  }

  override tiedKeys(): string[] {
    return this.tied() ? ["vocab_projector.weight"] : [];
  }

  override configDict(): Record<string, unknown> {
    return distilBertConfigDict(this.config);
  }

  override initMissingWeights(module: Module, names: ReadonlySet<string>): void {
    this.distilbert.initMissingWeights(module, names);
  }

  peftFacts(): PeftModelFacts {
    return this.distilbert.peftFacts();
  }

  getInputEmbeddings(): Embedding {
    return this.distilbert.getInputEmbeddings();
  }

  override getOutputEmbeddings(): Linear {
    return this.vocabProjector;
  }
}

/** transformers' MLM loss: mean cross-entropy over the positions whose label is not -100. */
export function maskedLmLoss(logits: Tensor, labels: TensorLike): Tensor {
  const y = asTensor(labels, "int32");
  const v = logits.shape[logits.ndim - 1];
  if (y.numel * v !== logits.numel) throw new RangeError(`labels [${y.shape}] do not match logits [${logits.shape}]`);
  return crossEntropy(reshape(logits, [y.numel, v]), reshape(y, [y.numel]));
}

/** The hidden states [n, dim] of the n positions whose label is set, and those labels [n]. */
export function labelledRows(h: Tensor, labels: Tensor): { hidden: Tensor; targets: Tensor } {
  const [b, l, d] = h.shape;
  if (labels.numel !== b * l) throw new RangeError(`labels [${labels.shape}] do not match hidden states [${h.shape}]`);
  const rows: number[] = [];
  for (let i = 0; i < labels.numel; i++) if (labels.data[i] !== IGNORE_INDEX) rows.push(i);
  const targets = new Tensor(Int32Array.from(rows, (i) => labels.data[i]), [rows.length]);
  return { hidden: indexSelect(reshape(h, [b * l, d]), 0, rows), targets };
}

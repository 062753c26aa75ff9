// ModernBERT's heads. Both put ModernBertPredictionHead (head = norm(act(dense(h)))) on the base model: the sequence
// classifier on the pooled sequence (first token, or the mean over the attention mask), then drop and classifier; the
// masked LM on every position, then the decoder, tied to the token embeddings, with its own bias.
import { Dropout, Embedding, LayerNorm, Linear, Module } from "../../nn/index.js";
import { Tensor, asTensor, div, mean, mul, reshape, slice, sum } from "../../tensor/index.js";
import { ACTIVATIONS } from "../config.js";
import { labelledRows, maskedLmLoss } from "../distilbert/masked-lm.js";
import { classificationLoss } from "../heads.js";
import type { MaskedLoss, ModelInput, ModelOutput } from "../outputs.js";
import { skipInit } from "../pretrained.js";
import type { ModernBertConfig } from "./config.js";
import { ModernBertModel, ModernBertPreTrainedModel, modernBertNorm } from "./modeling.js";

class ModernBertPredictionHead extends Module {
  readonly dense: Linear;
  readonly norm: LayerNorm;

  constructor(readonly config: ModernBertConfig) {
    super();
    this.dense = this.addModule("dense", new Linear(config.hiddenSize, config.hiddenSize, { bias: config.classifierBias }));
    this.norm = this.addModule("norm", modernBertNorm(config));
  }

  forward(h: Tensor): Tensor {
    return this.norm.forward(ACTIVATIONS[this.config.classifierActivation](this.dense.forward(h)));
  }
}

/** classifier_pooling: "cls" takes position 0 (the first virtual token under prompt tuning); "mean" averages the
 *  positions the attention mask keeps. The mask's last seq columns are the input's own: prefix tuning puts the
 *  prefix's in front. */
export function poolSequence(h: Tensor, input: ModelInput, pooling: "cls" | "mean"): Tensor {
  const [batch, seq, dim] = h.shape;
  if (pooling === "cls") return reshape(slice(h, 1, 0, 1), [batch, dim]);
  if (input.attentionMask === undefined) return mean(h, 1);
  const given = asTensor(input.attentionMask);
  const own = slice(given, 1, given.shape[1] - seq);
  const weights = new Tensor(Float32Array.from(own.data), [batch, seq]);
  return div(sum(mul(h, reshape(weights, [batch, seq, 1])), 1), sum(weights, 1, true));
}

export class ModernBertForSequenceClassification extends ModernBertPreTrainedModel {
  readonly model: ModernBertModel;
  readonly head: ModernBertPredictionHead;
  readonly drop: Dropout;
  readonly classifier: Linear;

  constructor(config: ModernBertConfig) {
    super(config);
    this.model = this.addModule("model", skipInit(() => new ModernBertModel(config)));
    this.head = this.addModule("head", new ModernBertPredictionHead(config));
    this.drop = this.addModule("drop", new Dropout(config.classifierDropout));
    // Always with a bias: classifier_bias is head.dense's.
    this.classifier = this.addModule("classifier", new Linear(config.hiddenSize, config.numLabels));
    this.postInit();
  }

  forward(input: ModelInput): ModelOutput {
    const h = this.model.forward(input).lastHiddenState!;
    const pooled = poolSequence(h, input, this.config.classifierPooling);
    const logits = this.classifier.forward(this.drop.forward(this.head.forward(pooled)));
    const loss = input.labels === undefined ? undefined : classificationLoss(logits, input.labels, this.config);
    return { logits, loss, lastHiddenState: h };
  }

  /** The prediction head is the classifier's own (a masked-LM checkpoint brings it trained). PEFT's
   *  modules_to_save still wraps only `classifier`. */
  override classifierModules(): string[] {
    return ["head", "classifier"];
  }

  getInputEmbeddings(): Embedding {
    return this.model.getInputEmbeddings();
  }
}

export class ModernBertForMaskedLM extends ModernBertPreTrainedModel {
  readonly model: ModernBertModel;
  readonly head: ModernBertPredictionHead;
  readonly decoder: Linear;

  constructor(config: ModernBertConfig) {
    super(config);
    this.model = this.addModule("model", skipInit(() => new ModernBertModel(config)));
    this.head = this.addModule("head", new ModernBertPredictionHead(config));
    this.decoder = this.addModule("decoder", new Linear(config.hiddenSize, config.vocabSize, { bias: config.decoderBias }));
    this.postInit();
    // Tied after the init pass, as transformers' tie_weights runs after _init_weights.
    if (config.tieWordEmbeddings) this.decoder.setParameter("weight", this.model.embeddings.tokEmbeddings.weight);
  }

  /** logits [batch, seq, vocab] at every position (also with sparse_prediction); with labels [batch, seq]
   *  (-100 = ignored) the mean loss. */
  forward(input: ModelInput): ModelOutput {
    const h = this.model.forward(input).lastHiddenState!;
    const logits = this.decoder.forward(this.head.forward(h));
    const loss = input.labels === undefined ? undefined : maskedLmLoss(logits, input.labels);
    return { logits, loss, lastHiddenState: h };
  }

  /** forward's loss with the head and decoder computed only where labels are set (sparse_prediction). */
  maskedLoss(input: ModelInput & { labels: Tensor }): MaskedLoss {
    const h = this.model.forward(input).lastHiddenState!;
    const { hidden, targets } = labelledRows(h, input.labels);
    return { loss: maskedLmLoss(this.decoder.forward(this.head.forward(hidden)), targets), lastHiddenState: h };
  }

  override tiedKeys(): string[] {
    return this.config.tieWordEmbeddings ? ["decoder.weight"] : [];
  }

  getInputEmbeddings(): Embedding {
    return this.model.getInputEmbeddings();
  }

  override getOutputEmbeddings(): Linear {
    return this.decoder;
  }
}

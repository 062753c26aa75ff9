// RobertaForMaskedLM as transformers defines it: RobertaModel without the pooler, and lm_head = dense -> GELU ->
// layer_norm -> decoder, whose weight is tied to the word embeddings and whose bias is lm_head.bias (both saved
// once, under those names).
import { LayerNorm, Linear, Module, init, type Embedding } from "../../nn/index.js";
import { gelu, zeros, type Tensor } from "../../tensor/index.js";
import { labelledRows, maskedLmLoss } from "../distilbert/masked-lm.js";
import type { MaskedLoss, ModelInput, ModelOutput } from "../outputs.js";
import { skipInit } from "../pretrained.js";
import type { RobertaConfig } from "./config.js";
import { RobertaModel, RobertaPreTrainedModel } from "./modeling.js";

class RobertaLMHead extends Module {
  readonly dense: Linear;
  readonly layerNorm: LayerNorm;
  readonly decoder: Linear;
  readonly bias: Tensor;

  constructor(config: RobertaConfig) {
    super();
    this.dense = this.addModule("dense", new Linear(config.hiddenSize, config.hiddenSize));
    this.layerNorm = this.addModule("layer_norm", new LayerNorm(config.hiddenSize, config.layerNormEps));
    this.decoder = this.addModule("decoder", new Linear(config.hiddenSize, config.vocabSize));
    this.bias = this.registerParameter("bias", zeros([config.vocabSize]));
    this.decoder.setParameter("bias", this.bias);
  }

  /** The exact (erf) GELU whatever hidden_act says: RobertaLMHead calls gelu itself. */
  forward(h: Tensor): Tensor {
    return this.decoder.forward(this.layerNorm.forward(gelu(this.dense.forward(h))));
  }
}

export class RobertaForMaskedLM extends RobertaPreTrainedModel {
  readonly roberta: RobertaModel;
  readonly lmHead: RobertaLMHead;

  constructor(config: RobertaConfig) {
    super(config);
    this.roberta = this.addModule("roberta", skipInit(() => new RobertaModel(config, false)));
    this.lmHead = this.addModule("lm_head", new RobertaLMHead(config));
    this.postInit();
    // Tied after the init pass, as transformers' tie_weights runs after _init_weights.
    if (this.tied()) this.lmHead.decoder.setParameter("weight", this.roberta.embeddings.wordEmbeddings.weight);
  }

  /** logits [batch, seq, vocab] at every position; with labels [batch, seq] (-100 = ignored) the mean loss. */
  forward(input: ModelInput): ModelOutput {
    const h = this.roberta.forward(input).lastHiddenState!;
    const logits = this.lmHead.forward(h);
    const loss = input.labels === undefined ? undefined : maskedLmLoss(logits, input.labels);
    return { logits, loss, lastHiddenState: h };
  }

  /** forward's loss with the decoder computed only where labels are set: the same value, less work. */
  maskedLoss(input: ModelInput & { labels: Tensor }): MaskedLoss {
    const h = this.roberta.forward(input).lastHiddenState!;
    const { hidden, targets } = labelledRows(h, input.labels);
    return { loss: maskedLmLoss(this.lmHead.forward(hidden), targets), lastHiddenState: h };
  }

  private tied(): boolean {
    return this.config.raw.tie_word_embeddings !== false;
  }

  override tiedKeys(): string[] {
    return [...(this.tied() ? ["lm_head.decoder.weight"] : []), "lm_head.decoder.bias"];
  }

  /** roberta-base and other MLM checkpoints were saved with the pooler, which this head does not use
   *  (transformers ignores it too). */
  override ignoredCheckpointKeys(): RegExp[] {
    return [...super.ignoredCheckpointKeys(), /(^|\.)pooler\./];
  }

  /** _init_weights zeroes RobertaLMHead's bias; every other layer follows the shared rules. */
  override initMissingWeights(module: Module, names: ReadonlySet<string>): void {
    if (module !== this.lmHead) return super.initMissingWeights(module, names);
    if (names.has("bias")) init.constant_(this.lmHead.bias, 0);
  }

  getInputEmbeddings(): Embedding {
    return this.roberta.getInputEmbeddings();
  }

  override getOutputEmbeddings(): Linear {
    return this.lmHead.decoder;
  }
}

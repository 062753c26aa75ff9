// BertForMaskedLM as transformers defines it: BertModel without the pooler, and
// cls.predictions = transform (dense -> activation -> LayerNorm) -> decoder, whose weight is tied to the word
// embeddings and whose bias is cls.predictions.bias (both saved once, under those names).
import { Embedding, LayerNorm, Linear, Module, init } from "../../nn/index.js";
import { zeros, type Tensor } from "../../tensor/index.js";
import { ACTIVATIONS } from "../config.js";
import { labelledRows, maskedLmLoss } from "../distilbert/masked-lm.js";
import type { MaskedLoss, ModelInput, ModelOutput, PeftModelFacts } from "../outputs.js";
import { PreTrainedModel, skipInit } from "../pretrained.js";
import { bertConfigDict, bertShape, parseBertConfig, type BertConfig } from "./config.js";
import { BertModel, bertPeftFacts, encodeWithBertLayers } from "./modeling.js";

/** BertModel(config, add_pooling_layer=False): BertModel's embeddings and encoder, run the same way. */
class BertModelWithoutPooler extends Module {
  readonly embeddings: BertModel["embeddings"];
  readonly encoder: BertModel["encoder"];

  constructor(readonly config: BertConfig) {
    super();
    const full = skipInit(() => new BertModel(config));
    this.embeddings = this.addModule("embeddings", full.embeddings);
    this.encoder = this.addModule("encoder", full.encoder);
  }

  /** The last hidden state [batch, seq, hidden]. */
  forward(input: ModelInput): Tensor {
    return encodeWithBertLayers(this, this.config, input);
  }
}

class BertPredictionHeadTransform extends Module {
  readonly dense: Linear;
  readonly layerNorm: LayerNorm;

  constructor(readonly config: BertConfig) {
    super();
    this.dense = this.addModule("dense", new Linear(config.hiddenSize, config.hiddenSize));
    this.layerNorm = this.addModule("LayerNorm", new LayerNorm(config.hiddenSize, config.layerNormEps));
  }

  forward(h: Tensor): Tensor {
    return this.layerNorm.forward(ACTIVATIONS[this.config.hiddenAct](this.dense.forward(h)));
  }
}

class BertLMPredictionHead extends Module {
  readonly transform: BertPredictionHeadTransform;
  readonly decoder: Linear;
  readonly bias: Tensor;

  constructor(config: BertConfig) {
    super();
    this.bias = this.registerParameter("bias", zeros([config.vocabSize]));
    this.transform = this.addModule("transform", new BertPredictionHeadTransform(config));
    this.decoder = this.addModule("decoder", new Linear(config.hiddenSize, config.vocabSize));
    this.decoder.setParameter("bias", this.bias);
  }

  forward(h: Tensor): Tensor {
    return this.decoder.forward(this.transform.forward(h));
  }
}

/** BertOnlyMLMHead: only there for the "cls." level of the key names. */
class BertOnlyMLMHead extends Module {
  readonly predictions: BertLMPredictionHead;

  constructor(config: BertConfig) {
    super();
    this.predictions = this.addModule("predictions", new BertLMPredictionHead(config));
  }
}

export class BertForMaskedLM extends PreTrainedModel<BertConfig> {
  static parseConfig = parseBertConfig;
  static modelShape = bertShape;
  readonly baseModelPrefix = "bert";
  readonly bert: BertModelWithoutPooler;
  readonly cls: BertOnlyMLMHead;

  constructor(config: BertConfig) {
    super(config);
    this.bert = this.addModule("bert", new BertModelWithoutPooler(config));
    this.cls = this.addModule("cls", new BertOnlyMLMHead(config));
    this.postInit();
    // Tied after the init pass, as transformers' tie_weights runs after _init_weights.
    if (this.tied()) this.cls.predictions.decoder.setParameter("weight", this.bert.embeddings.wordEmbeddings.weight);
  }

  /** logits [batch, seq, vocab] at every position; with labels [batch, seq] (-100 = ignored) the mean loss. */
  forward(input: ModelInput): ModelOutput {
    const h = this.bert.forward(input);
    const logits = this.cls.predictions.forward(h);
    const loss = input.labels === undefined ? undefined : maskedLmLoss(logits, input.labels);
    return { logits, loss, lastHiddenState: h };
  }

  /** forward's loss with the decoder computed only where labels are set: the same value, less work. */
  maskedLoss(input: ModelInput & { labels: Tensor }): MaskedLoss {
    const h = this.bert.forward(input);
    const { hidden, targets } = labelledRows(h, input.labels);
    return { loss: maskedLmLoss(this.cls.predictions.forward(hidden), targets), lastHiddenState: h };
  }

  private tied(): boolean {
    return this.config.raw.tie_word_embeddings !== false;
  }

  override tiedKeys(): string[] {
    return [...(this.tied() ? ["cls.predictions.decoder.weight"] : []), "cls.predictions.decoder.bias"];
  }

  /** A BERT checkpoint saved with its pooler (or as BertForPreTraining) loads without a warning about it. */
  override ignoredCheckpointKeys(): RegExp[] {
    return [/(^|\.)position_ids$/, /(^|\.)pooler\./];
  }

  override configDict(): Record<string, unknown> {
    return bertConfigDict(this.config);
  }

  /** _init_weights zeroes BertLMPredictionHead's bias; every other layer follows the shared rules. */
  override initMissingWeights(module: Module, names: ReadonlySet<string>): void {
    if (module !== this.cls.predictions) return super.initMissingWeights(module, names);
    if (names.has("bias")) init.constant_(this.cls.predictions.bias, 0);
  }

  peftFacts(): PeftModelFacts {
    return bertPeftFacts(this.config, "bert");
  }

  getInputEmbeddings(): Embedding {
    return this.bert.embeddings.wordEmbeddings;
  }

  override getOutputEmbeddings(): Linear {
    return this.cls.predictions.decoder;
  }
}

// Gemma models with a head: the causal LM (lm_head tied to the embeddings unless tie_word_embeddings is false;
// Gemma 2 caps its logits with tanh) and the sequence classifier on the last non-pad token (no cap, as there).
import { Embedding, Linear } from "../../nn/index.js";
import type { Tensor } from "../../tensor/index.js";
import { causalLmForward, lastTokenClassifierForward } from "../decoder-heads.js";
import { generateTokens, type CausalLMInput, type GenerateOptions } from "../generation.js";
import type { ModelOutput, TensorLike } from "../outputs.js";
import { skipInit } from "../pretrained.js";
import type { GemmaConfig } from "./config.js";
import { GEMMA_ARCHITECTURES, Gemma3TextModel, GemmaPreTrainedModel } from "./model.js";

export class Gemma3ForCausalLM extends GemmaPreTrainedModel {
  readonly model: Gemma3TextModel;
  readonly lmHead: Linear;

  constructor(config: GemmaConfig) {
    super(config);
    this.model = this.addModule("model", skipInit(() => new Gemma3TextModel(config)));
    this.lmHead = this.addModule("lm_head", new Linear(config.hiddenSize, config.vocabSize, { bias: false }));
    if (config.tieWordEmbeddings) this.lmHead.setParameter("weight", this.model.embedTokens.weight);
    this.postInit();
  }

  forward(input: CausalLMInput): ModelOutput {
    return causalLmForward(this.model, this.lmHead, input, { logitSoftcap: this.config.finalLogitSoftcapping });
  }

  generate(inputIds: TensorLike, opts?: GenerateOptions): Tensor {
    return generateTokens(this, inputIds, opts);
  }

  override architectureName(): string {
    return GEMMA_ARCHITECTURES[this.config.modelType].causalLm;
  }

  override tiedKeys(): string[] {
    return this.config.tieWordEmbeddings ? ["lm_head.weight"] : [];
  }

  getInputEmbeddings(): Embedding {
    return this.model.embedTokens;
  }

  override getOutputEmbeddings(): Linear {
    return this.lmHead;
  }
}

export class Gemma3ForSequenceClassification extends GemmaPreTrainedModel {
  readonly model: Gemma3TextModel;
  readonly score: Linear;

  constructor(config: GemmaConfig) {
    super(config);
    this.model = this.addModule("model", skipInit(() => new Gemma3TextModel(config)));
    this.score = this.addModule("score", new Linear(config.hiddenSize, config.numLabels, { bias: false }));
    this.postInit();
  }

  forward(input: CausalLMInput): ModelOutput {
    return lastTokenClassifierForward(this.model, this.score, input, this.config);
  }

  override architectureName(): string {
    return GEMMA_ARCHITECTURES[this.config.modelType].seqCls;
  }

  override classifierModules(): string[] {
    return ["score"];
  }

  getInputEmbeddings(): Embedding {
    return this.model.embedTokens;
  }
}

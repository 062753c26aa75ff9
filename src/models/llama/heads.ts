// Llama-family models with a head: the causal LM (lm_head tied to the embeddings only when
// tie_word_embeddings says so) and the sequence classifier on the last non-pad token.
import { Embedding, Linear } from "../../nn/index.js";
import type { Tensor } from "../../tensor/index.js";
import { causalLmForward, lastTokenClassifierForward } from "../decoder-heads.js";
import { generateTokens, type CausalLMInput, type GenerateOptions } from "../generation.js";
import type { ModelOutput, TensorLike } from "../outputs.js";
import { skipInit } from "../pretrained.js";
import type { LlamaConfig } from "./config.js";
import { LlamaModel, LlamaPreTrainedModel } from "./model.js";

export class LlamaForCausalLM extends LlamaPreTrainedModel {
  readonly model: LlamaModel;
  readonly lmHead: Linear;

  constructor(config: LlamaConfig) {
    super(config);
    this.model = this.addModule("model", skipInit(() => new LlamaModel(config)));
    this.lmHead = this.addModule("lm_head", new Linear(config.hiddenSize, config.vocabSize, { bias: false }));
    if (config.tieWordEmbeddings) this.lmHead.setParameter("weight", this.model.embedTokens.weight);
    this.postInit();
  }

  forward(input: CausalLMInput): ModelOutput {
    return causalLmForward(this.model, this.lmHead, input);
  }

  generate(inputIds: TensorLike, opts?: GenerateOptions): Tensor {
    return generateTokens(this, inputIds, opts);
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

export class LlamaForSequenceClassification extends LlamaPreTrainedModel {
  readonly model: LlamaModel;
  readonly score: Linear;

  constructor(config: LlamaConfig) {
    super(config);
    this.model = this.addModule("model", skipInit(() => new LlamaModel(config)));
    this.score = this.addModule("score", new Linear(config.hiddenSize, config.numLabels, { bias: false }));
    this.postInit();
  }

  forward(input: CausalLMInput): ModelOutput {
    return lastTokenClassifierForward(this.model, this.score, input, this.config);
  }

  override classifierModules(): string[] {
    return ["score"];
  }

  getInputEmbeddings(): Embedding {
    return this.model.embedTokens;
  }
}

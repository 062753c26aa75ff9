// GPT-2 with a head: the language-model head tied to the token embeddings, and the sequence classifier
// that reads the last non-pad token.
import { Embedding, Linear } from "../../nn/index.js";
import type { Tensor } from "../../tensor/index.js";
import { causalLmForward, lastTokenClassifierForward } from "../decoder-heads.js";
import { generateTokens, type CausalLMInput, type GenerateOptions } from "../generation.js";
import type { ModelOutput, TensorLike } from "../outputs.js";
import { skipInit } from "../pretrained.js";
import type { GPT2Config } from "./config.js";
import { GPT2Model, GPT2PreTrainedModel } from "./model.js";

export class GPT2LMHeadModel extends GPT2PreTrainedModel {
  readonly transformer: GPT2Model;
  readonly lmHead: Linear;

  constructor(config: GPT2Config) {
    super(config);
    this.transformer = this.addModule("transformer", skipInit(() => new GPT2Model(config)));
    this.lmHead = this.addModule("lm_head", new Linear(config.nEmbd, config.vocabSize, { bias: false }));
    // One tensor under two names: its gradient sums both uses, and namedParameters lists it once.
    if (config.tieWordEmbeddings) this.lmHead.setParameter("weight", this.transformer.wte.weight);
    this.postInit();
  }

  forward(input: CausalLMInput): ModelOutput {
    return causalLmForward(this.transformer, this.lmHead, input);
  }

  generate(inputIds: TensorLike, opts?: GenerateOptions): Tensor {
    return generateTokens(this, inputIds, opts);
  }

  override tiedKeys(): string[] {
    return this.config.tieWordEmbeddings ? ["lm_head.weight"] : [];
  }

  getInputEmbeddings(): Embedding {
    return this.transformer.wte;
  }

  override getOutputEmbeddings(): Linear {
    return this.lmHead;
  }
}

export class GPT2ForSequenceClassification extends GPT2PreTrainedModel {
  readonly transformer: GPT2Model;
  readonly score: Linear;

  constructor(config: GPT2Config) {
    super(config);
    this.transformer = this.addModule("transformer", skipInit(() => new GPT2Model(config)));
    this.score = this.addModule("score", new Linear(config.nEmbd, config.numLabels, { bias: false }));
    this.postInit();
  }

  forward(input: CausalLMInput): ModelOutput {
    return lastTokenClassifierForward(this.transformer, this.score, input, this.config);
  }

  override classifierModules(): string[] {
    return ["score"];
  }

  getInputEmbeddings(): Embedding {
    return this.transformer.wte;
  }
}

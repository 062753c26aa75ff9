// Llama-family models with a head: the causal LM (lm_head tied to the embeddings only when
// tie_word_embeddings says so) and the sequence classifier on the last non-pad token.
import { Embedding, Linear } from "../../nn/index.js";
import { asTensor, type Tensor } from "../../tensor/index.js";
import { causalLmLoss, generateTokens, poolLastTokens, type CausalLMInput, type GenerateOptions } from "../generation.js";
import { classificationLoss } from "../heads.js";
import type { ModelOutput, TensorLike } from "../outputs.js";
import type { LlamaConfig } from "./config.js";
import { LlamaModel, LlamaPreTrainedModel } from "./model.js";

export class LlamaForCausalLM extends LlamaPreTrainedModel {
  readonly model: LlamaModel;
  readonly lmHead: Linear;

  constructor(config: LlamaConfig) {
    super(config);
    this.model = this.addModule("model", new LlamaModel(config));
    this.lmHead = this.addModule("lm_head", new Linear(config.hiddenSize, config.vocabSize, { bias: false }));
    if (config.tieWordEmbeddings) this.lmHead.setParameter("weight", this.model.embedTokens.weight);
  }

  /** logits [batch, seq, vocab]; with labels [batch, seq] (-100 = ignored) the mean next-token loss. */
  forward(input: CausalLMInput): ModelOutput {
    const out = this.model.forward(input);
    const h = out.lastHiddenState!;
    const logits = this.lmHead.forward(h);
    const loss = input.labels === undefined ? undefined : causalLmLoss(logits, input.labels);
    return { logits, loss, lastHiddenState: h, pastKeyValues: out.pastKeyValues };
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
}

export class LlamaForSequenceClassification extends LlamaPreTrainedModel {
  readonly model: LlamaModel;
  readonly score: Linear;

  constructor(config: LlamaConfig) {
    super(config);
    this.model = this.addModule("model", new LlamaModel(config));
    this.score = this.addModule("score", new Linear(config.hiddenSize, config.numLabels, { bias: false }));
  }

  /** logits [batch, numLabels] from the last non-pad token (pad_token_id decides; needed for batch > 1). */
  forward(input: CausalLMInput): ModelOutput {
    const out = this.model.forward(input);
    const h = out.lastHiddenState!;
    const ids = input.inputIds === undefined ? null : asTensor(input.inputIds, "int32");
    const logits = this.score.forward(poolLastTokens(h, ids, this.config.padTokenId));
    const loss = input.labels === undefined ? undefined : classificationLoss(logits, input.labels, this.config);
    return { logits, loss, lastHiddenState: h, pastKeyValues: out.pastKeyValues };
  }

  override classifierModules(): string[] {
    return ["score"];
  }

  getInputEmbeddings(): Embedding {
    return this.model.embedTokens;
  }
}

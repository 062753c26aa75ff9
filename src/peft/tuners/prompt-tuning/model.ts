// PEFT's PromptEmbedding: the virtual tokens are rows of a trainable table, fed as input embeddings.
import { Embedding, Module } from "../../../nn/index.js";
import { Tensor, arange, noGrad, randint } from "../../../tensor/index.js";
import type { PromptEncoderModule, PromptTuner, TunerOptions } from "../../tuner.js";
import { PromptTuningConfig } from "./config.js";

/** PEFT's TEXT init: the text's ids cut or cycled to `total`. */
function cycleTokenIds(ids: readonly number[], total: number): number[] {
  if (ids.length === 0) throw new Error("PromptTuningConfig: the init text has no tokens");
  return Array.from({ length: total }, (_, i) => ids[i % ids.length]);
}

function initTokenIds(config: PromptTuningConfig, total: number, vocab: number, options: TunerOptions): number[] | null {
  if (config.promptTuningInit === "SAMPLE_VOCAB") return Array.from(randint(0, vocab, [total]).data);
  if (config.promptTuningInit !== "TEXT") return null;
  const ids = options.promptTuningInitTokenIds;
  if (!ids)
    throw new Error("PromptTuningConfig: prompt_tuning_init TEXT needs the init text's token ids: pass " +
      "{ promptTuningInitTokenIds: await tokenizer.encode(config.promptTuningInitText) } to getPeftModel");
  return cycleTokenIds(ids, total);
}

export class PromptEmbedding extends Module implements PromptEncoderModule {
  readonly embedding: Embedding;
  private readonly indices: Tensor;

  constructor(config: PromptTuningConfig, wordEmbeddings: Embedding, options: TunerOptions = {}) {
    super();
    const total = config.numVirtualTokens! * config.numTransformerSubmodules!;
    this.embedding = this.addModule("embedding", new Embedding(total, config.tokenDim!));
    this.indices = arange(total);
    // As in PEFT, an adapter created for inference skips the init: its table is loaded next.
    const ids = config.inferenceMode ? null : initTokenIds(config, total, wordEmbeddings.numEmbeddings, options);
    if (ids) this.embedding.weight.copy_(noGrad(() => wordEmbeddings.forward(new Tensor(Int32Array.from(ids), [total]))));
  }

  forward(): Tensor {
    return this.embedding.forward(this.indices);
  }

  setOutputTable(table: Tensor): void {
    this.embedding.weight.copy_(table);
  }
}

export const promptTuningTuner: PromptTuner<PromptTuningConfig> = {
  kind: "prompt",
  feeds: "inputsEmbeds",
  createEncoder: (config, model, options) => new PromptEmbedding(config, model.getInputEmbeddings(), options),
};

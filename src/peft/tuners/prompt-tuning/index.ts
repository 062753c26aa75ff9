// Prompt tuning (Lester et al. 2021): trained embeddings in front of the input. Its one registration.
import { DEFAULT_VIRTUAL_TOKENS, numVirtualTokensFlag } from "../../cli-flags.js";
import { registerPeftMethod } from "../../registry.js";
import { PromptTuningConfig } from "./config.js";
import { promptTuningTuner } from "./model.js";

registerPeftMethod({
  peftType: "PROMPT_TUNING",
  config: PromptTuningConfig,
  tuner: promptTuningTuner,
  mergeable: false,
  cli: {
    name: "prompt", label: "prompt tuning", baseLr: 3e-2, widthScaled: false,
    flags: {
      numVirtualTokens: numVirtualTokensFlag,
      promptInitText: {
        kind: "string", arg: "TEXT", help: "start the prompt from this text's embeddings",
        // PEFT records the tokenizer to encode the text with; ours is the base model's, so the run records that.
        apply: async (text: string, ctx) => ({
          fields: { promptTuningInit: "TEXT", promptTuningInitText: text, tokenizerNameOrPath: ctx.baseModel },
          tunerOptions: { promptTuningInitTokenIds: await ctx.encode(text) },
        }),
      },
    },
    defaults: { numVirtualTokens: DEFAULT_VIRTUAL_TOKENS },
  },
});

export { PromptTuningConfig } from "./config.js";
export type { PromptTuningConfigFields, PromptTuningInit } from "./config.js";
export { PromptEmbedding, promptTuningTuner } from "./model.js";

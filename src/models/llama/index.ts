import { registerModelType } from "../auto.js";
import { LLAMA_MODEL_TYPES, parseLlamaConfig } from "./config.js";
import { LlamaForCausalLM, LlamaForSequenceClassification } from "./heads.js";
import { LlamaModel } from "./model.js";

export { LLAMA_MODEL_TYPES, llamaConfig, parseLlamaConfig } from "./config.js";
export type { LlamaConfig, LlamaModelType, RopeScaling } from "./config.js";
export { LlamaModel } from "./model.js";
export { LlamaForCausalLM, LlamaForSequenceClassification } from "./heads.js";

// Mistral and Qwen2 checkpoints use the Llama key names and differ only in what the config selects.
for (const modelType of LLAMA_MODEL_TYPES) {
  registerModelType({
    modelType,
    parseConfig: parseLlamaConfig,
    base: LlamaModel,
    forSequenceClassification: LlamaForSequenceClassification,
    forCausalLM: LlamaForCausalLM,
  });
}

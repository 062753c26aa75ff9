export { LLAMA_MODEL_TYPES, llamaConfig, parseLlamaConfig } from "./config.js";
export type { LlamaConfig, LlamaModelType, RopeScaling } from "./config.js";
export { LlamaModel } from "./model.js";
export { LlamaForCausalLM, LlamaForSequenceClassification } from "./heads.js";
export { llamaFamily } from "./family.js";

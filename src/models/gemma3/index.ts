export { GEMMA_MODEL_TYPES, gemmaConfig, parseGemmaConfig } from "./config.js";
export type { GemmaConfig, GemmaModelType, LayerType } from "./config.js";
export { Gemma3TextModel } from "./model.js";
export { Gemma3ForCausalLM, Gemma3ForSequenceClassification } from "./heads.js";
export { gemma3Family } from "./family.js";

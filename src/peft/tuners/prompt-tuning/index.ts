export { PromptTuningConfig } from "./config.js";
export type { PromptTuningConfigFields, PromptTuningInit } from "./config.js";
export { PromptEmbedding, promptTuningTuner } from "./model.js";

export { PromptEncoderConfig } from "./config.js";
export type { PromptEncoderConfigFields, PromptEncoderReparameterizationType } from "./config.js";
export { PromptEncoder, pTuningTuner } from "./model.js";

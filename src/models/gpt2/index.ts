export { gpt2Config, parseGPT2Config } from "./config.js";
export type { GPT2Config } from "./config.js";
export { GPT2Model } from "./model.js";
export { GPT2ForSequenceClassification, GPT2LMHeadModel } from "./heads.js";
export { gpt2Family } from "./family.js";

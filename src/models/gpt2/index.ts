import { registerModelType } from "../auto.js";
import { parseGPT2Config } from "./config.js";
import { GPT2ForSequenceClassification, GPT2LMHeadModel } from "./heads.js";
import { GPT2Model } from "./model.js";

export { gpt2Config, parseGPT2Config } from "./config.js";
export type { GPT2Config } from "./config.js";
export { GPT2Model } from "./model.js";
export { GPT2ForSequenceClassification, GPT2LMHeadModel } from "./heads.js";

registerModelType({
  modelType: "gpt2",
  parseConfig: parseGPT2Config,
  base: GPT2Model,
  forSequenceClassification: GPT2ForSequenceClassification,
  forCausalLM: GPT2LMHeadModel,
});

// The models' public surface. Importing the family folders registers them with the Auto classes.
import "./distilbert/index.js";
import "./bert/index.js";
import "./gpt2/index.js";
import "./llama/index.js";

export { AutoConfig, AutoModel, AutoModelForCausalLM, AutoModelForSequenceClassification, registerModelType, supportedModelTypes } from "./auto.js";
export type { ModelTypeEntry } from "./auto.js";
export { PreTrainedModel } from "./pretrained.js";
export type { BaseConfig, PretrainedClass } from "./pretrained.js";
export type { FromPretrainedOptions } from "./loading.js";
export type { WeightLoadReport, MismatchedKey } from "./weights.js";
export type { LabelConfig, ProblemType } from "./config.js";
export type { LayerPast, ModelInput, ModelOutput, PeftModelFacts, TensorLike } from "./outputs.js";
export * from "./distilbert/index.js";
export * from "./bert/index.js";
export * from "./gpt2/index.js";
export * from "./llama/index.js";

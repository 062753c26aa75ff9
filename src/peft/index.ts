// Parameter-efficient fine-tuning with Hugging Face PEFT's configs, names and files.
import type { PreTrainedModel } from "../models/pretrained.js";
import type { PeftConfig } from "./config.js";
import { PeftModel } from "./peft-model.js";
import type { TunerOptions } from "./tuner.js";
import "./tuners/lora/index.js";
import "./tuners/prompt-tuning/index.js";
import "./tuners/p-tuning/index.js";
import "./tuners/prefix-tuning/index.js";
import "./tuners/ia3/index.js";
import "./tuners/adapter/index.js";

export { PeftConfig, peftConfigFromJson } from "./config.js";
export type { PeftType, TaskType } from "./config.js";
export { PeftModel, savedKey } from "./peft-model.js";
export { ModulesToSaveWrapper } from "./modules-to-save.js";
export { savePeftAdapter, loadPeftModel, loadAdapter, readAdapterConfig } from "./adapter-files.js";
export type { LoadAdapterOptions } from "./adapter-files.js";
export * from "./tuners/lora/index.js";
export * from "./tuners/prompt-tuning/index.js";
export * from "./tuners/p-tuning/index.js";
export * from "./tuners/prefix-tuning/index.js";
export * from "./tuners/ia3/index.js";
export * from "./tuners/adapter/index.js";
export { PromptLearningConfig } from "./tuner.js";
export type { PromptLearningConfigFields, TunerOptions } from "./tuner.js";

/** PEFT's get_peft_model: freezes the base model and attaches a fresh adapter named "default". */
export function getPeftModel(model: PreTrainedModel, config: PeftConfig, options: TunerOptions & { adapterName?: string } = {}): PeftModel {
  return new PeftModel(model, config, options.adapterName ?? "default", options);
}

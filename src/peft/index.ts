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

export { PEFT_FIELDS, PeftConfig, TASK_TYPES, peftConfigFromJson } from "./config.js";
export type { ConfigFields, PeftConfigClass, PeftConfigFields, PeftType, SchemaValues, TaskType } from "./config.js";
export { methodOf, peftMethod, peftMethods, registerPeftMethod } from "./registry.js";
export type { PeftCliContext, PeftCliFlag, PeftCliSetup, PeftMethod, PeftMethodCli } from "./registry.js";
export { DEFAULT_VIRTUAL_TOKENS, encoderHiddenSizeFlag, numVirtualTokensFlag, targetModulesFlag } from "./cli-flags.js";
export { MAX_ADAPTER_SIZE, MODULE_NAMES_FIELD, SIZE_FIELD } from "./patterns.js";
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
export { PROMPT_LEARNING_FIELDS, PromptLearningConfig, isAdapterLayer } from "./tuner.js";
export type { AdapterLayer, InjectingTuner, PromptEncoderModule, PromptLearningConfigFields, PromptTuner, TunerOptions } from "./tuner.js";

/** PEFT's get_peft_model: freezes the base model and attaches a fresh adapter named "default". */
export function getPeftModel(model: PreTrainedModel, config: PeftConfig, options: TunerOptions & { adapterName?: string } = {}): PeftModel {
  return new PeftModel(model, config, options.adapterName ?? "default", options);
}

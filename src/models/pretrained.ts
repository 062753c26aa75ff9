// The base of every model: a Module with a typed config, the forward contract of ./outputs.ts, and
// the facts PEFT needs. Loading and saving in Hugging Face layout live in ./loading.ts.
import { Module } from "../nn/index.js";
import type { Embedding } from "../nn/index.js";
import type { ModelInput, ModelOutput, PeftModelFacts } from "./outputs.js";

export interface BaseConfig {
  modelType: string;
  /** The original config.json object, kept so savePretrained writes back every field we do not model. */
  raw: Record<string, unknown>;
}

export abstract class PreTrainedModel<C extends BaseConfig = BaseConfig> extends Module {
  constructor(readonly config: C) {
    super();
  }

  abstract forward(input: ModelInput): ModelOutput;

  abstract peftFacts(): PeftModelFacts;

  /** The token embedding table (prompt tuning reads it; tied heads share it). */
  abstract getInputEmbeddings(): Embedding;

  /** Hugging Face's base_model_prefix ("distilbert", "bert", "transformer", "model"). */
  abstract readonly baseModelPrefix: string;

  /** For SEQ_CLS models: the head module names PEFT wraps as modules_to_save. */
  classifierModules(): string[] {
    return [];
  }

  /** Keys that alias another parameter and are not written by savePretrained (GPT-2's lm_head). */
  tiedKeys(): string[] {
    return [];
  }
}

// The model-type registry and the Auto classes: config.json's model_type picks the family, the Auto
// class picks the head. Families register themselves from their index.ts (./index.ts imports them all).
import { configError, type RawConfig } from "./config.js";
import { buildPretrained, readConfigJson, type FromPretrainedOptions } from "./loading.js";
import type { BaseConfig, PreTrainedModel, PretrainedClass } from "./pretrained.js";

// Each family's class takes its own config type; the registry only hands it what its parseConfig made.
type AnyClass = PretrainedClass<PreTrainedModel, any>;

export interface ModelTypeEntry {
  modelType: string;
  parseConfig(raw: RawConfig, file: string): BaseConfig;
  base: AnyClass;
  forSequenceClassification?: AnyClass;
  forCausalLM?: AnyClass;
  forMaskedLM?: AnyClass;
}

const registry = new Map<string, ModelTypeEntry>();

export function registerModelType(entry: ModelTypeEntry): void {
  registry.set(entry.modelType, entry);
}

export function supportedModelTypes(): string[] {
  return [...registry.keys()].sort();
}

export function modelTypeEntry(raw: RawConfig, file: string): ModelTypeEntry {
  const t = raw.model_type;
  if (typeof t !== "string") throw configError(file, "model_type", `is ${t === undefined ? "missing" : `not a string (${JSON.stringify(t)})`}; the Auto classes need it to pick the model`);
  const entry = registry.get(t);
  if (!entry) throw configError(file, "model_type", `is "${t}", which is not supported (supported: ${supportedModelTypes().join(", ")})`);
  return entry;
}

export const AutoConfig = {
  async fromPretrained(pathOrId: string, opts: FromPretrainedOptions = {}): Promise<BaseConfig> {
    const { raw, file } = await readConfigJson(pathOrId, opts);
    return modelTypeEntry(raw, file).parseConfig(raw, file);
  },
};

type Head = "base" | "forSequenceClassification" | "forCausalLM" | "forMaskedLM";
const HEAD_NAMES: Record<Head, string> = { base: "base model", forSequenceClassification: "sequence classification", forCausalLM: "causal LM", forMaskedLM: "masked LM" };

function autoClass(head: Head) {
  return {
    async fromPretrained(pathOrId: string, opts: FromPretrainedOptions = {}): Promise<PreTrainedModel> {
      const cfg = await readConfigJson(pathOrId, opts);
      const entry = modelTypeEntry(cfg.raw, cfg.file);
      const cls = entry[head];
      if (!cls) {
        const has = (Object.keys(HEAD_NAMES) as Head[]).filter((h) => entry[h]).map((h) => HEAD_NAMES[h]);
        throw new Error(`${cfg.file}: model_type "${entry.modelType}" has no ${HEAD_NAMES[head]} model here (available: ${has.join(", ")})`);
      }
      return buildPretrained(cls, pathOrId, cfg, opts);
    },
  };
}

export const AutoModel = autoClass("base");
export const AutoModelForSequenceClassification = autoClass("forSequenceClassification");
export const AutoModelForCausalLM = autoClass("forCausalLM");
export const AutoModelForMaskedLM = autoClass("forMaskedLM");

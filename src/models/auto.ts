// The Auto classes: config.json's model_type picks the family (./registry.ts), the Auto class picks its head.
import type { FamilyClasses } from "./family.js";
import { buildPretrained, readConfigJson, type FromPretrainedOptions } from "./loading.js";
import type { BaseConfig, PreTrainedModel } from "./pretrained.js";
import { familyForConfig } from "./registry.js";

export const AutoConfig = {
  async fromPretrained(pathOrId: string, opts: FromPretrainedOptions = {}): Promise<BaseConfig> {
    const { raw, file } = await readConfigJson(pathOrId, opts);
    return familyForConfig(raw, file).classes.base.parseConfig(raw, file);
  },
};

type Head = keyof FamilyClasses;
const HEAD_NAMES: Record<Head, string> = { base: "base model", seqCls: "sequence classification", causalLm: "causal LM", maskedLm: "masked LM" };

function autoClass(head: Head) {
  return {
    async fromPretrained(pathOrId: string, opts: FromPretrainedOptions = {}): Promise<PreTrainedModel> {
      const cfg = await readConfigJson(pathOrId, opts);
      const family = familyForConfig(cfg.raw, cfg.file);
      const cls = family.classes[head];
      if (!cls) {
        const has = (Object.keys(HEAD_NAMES) as Head[]).filter((h) => family.classes[h]).map((h) => HEAD_NAMES[h]);
        throw new Error(`${cfg.file}: model_type "${String(cfg.raw.model_type)}" has no ${HEAD_NAMES[head]} model here (available: ${has.join(", ")})`);
      }
      return buildPretrained(cls, pathOrId, cfg, opts);
    },
  };
}

export const AutoModel = autoClass("base");
export const AutoModelForSequenceClassification = autoClass("seqCls");
export const AutoModelForCausalLM = autoClass("causalLm");
export const AutoModelForMaskedLM = autoClass("maskedLm");

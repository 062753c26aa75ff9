// The registered model families, by config.json model_type. The built-in ones come from ./families.ts (one line
// per family); registerFamily adds another at run time. Generic code asks here instead of testing model types.
import { configError, type RawConfig } from "./config.js";
import { BUILT_IN_FAMILIES } from "./families.js";
import type { ModelFamily } from "./family.js";
import type { PreTrainedModel } from "./pretrained.js";

const byModelType = new Map<string, ModelFamily>();

/** Adds a family; each of its model types must be new and have its PEFT targets. */
export function registerFamily(family: ModelFamily): void {
  for (const t of family.modelTypes) {
    const taken = byModelType.get(t);
    if (taken) throw new Error(`model_type "${t}" of family ${family.name} is already registered by family ${taken.name}`);
    const targets = family.peftTargets[t];
    if (!targets) throw new Error(`family ${family.name} declares model_type "${t}" without its PEFT targets`);
    const stray = targets.ia3Feedforward.filter((m) => !targets.ia3.includes(m));
    if (stray.length) throw new Error(`family ${family.name}: IA3 feed-forward modules of "${t}" must be IA3 targets too; not targeted: ${stray.join(", ")}`);
  }
  for (const t of family.modelTypes) byModelType.set(t, family);
}

for (const family of BUILT_IN_FAMILIES) registerFamily(family);

/** Every registered family, each once, in registration order. */
export function families(): ModelFamily[] {
  return [...new Set(byModelType.values())];
}

export function supportedModelTypes(): string[] {
  return [...byModelType.keys()].sort();
}

function unsupported(t: string): string {
  return `is "${t}", which is not supported (supported: ${supportedModelTypes().join(", ")})`;
}

/** The family of a model type. */
export function familyOf(modelType: string): ModelFamily {
  const family = byModelType.get(modelType);
  if (!family) throw new Error(`model_type ${unsupported(modelType)}`);
  return family;
}

/** The family that loads a config.json; `file` names it in errors. */
export function familyForConfig(raw: RawConfig, file: string): ModelFamily {
  const t = raw.model_type;
  if (typeof t !== "string") throw configError(file, "model_type", `is ${t === undefined ? "missing" : `not a string (${JSON.stringify(t)})`}; the Auto classes need it to pick the model`);
  const family = byModelType.get(t);
  if (!family) throw configError(file, "model_type", unsupported(t));
  return family;
}

export function familyOfModel(model: PreTrainedModel): ModelFamily {
  return familyOf(model.config.modelType);
}

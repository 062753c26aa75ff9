// Which linear layers an injecting method (LoRA, IA3) wraps, by PEFT's rules: target_modules as exact names or
// dotted suffixes (a list), one full regex (a string), or "all-linear" (every linear layer but the output heads);
// exclude_modules read the same way; nothing inside what modules_to_save covers.
import type { Module } from "../nn/index.js";
import type { PreTrainedModel } from "../models/pretrained.js";
import { configPattern } from "./patterns.js";

export function matchesTarget(name: string, targets: string[] | string): boolean {
  if (typeof targets === "string") return configPattern(targets, "target_modules").test(name);
  return targets.some((t) => name === t || name.endsWith(`.${t}`));
}

/** PEFT's guard: an adapter never goes on a module modules_to_save covers, nor inside one (the name itself, a dotted
 *  run of its components, and everything below: "classifier" covers RoBERTa's classifier.dense). */
export function coveredByModulesToSave(name: string, modulesToSave: readonly string[] | null): boolean {
  return (modulesToSave ?? []).some((m) => name === m || name.startsWith(`${m}.`) || name.endsWith(`.${m}`) || name.includes(`.${m}.`));
}

export interface TargetRule {
  /** The config class that errors name ("LoraConfig"). */
  configName: string;
  targets: string[] | string;
  excludeModules: string[] | string | null;
  modulesToSave: readonly string[] | null;
  /** A layer the method can wrap, or the method's own wrapper (a further adapter joins it). */
  isLinear(m: Module): boolean;
  /** Layers inside a wrapper (the method's own, or a head's), which are never targets. */
  insideWrapper(name: string): boolean;
  /** A last filter of the method's own (LoRA's layers_to_transform). */
  keep?(name: string): boolean;
}

/** The module paths to wrap, in module order; none is an error that lists the linear layers the model has. */
export function selectLinearTargets(model: PreTrainedModel, rule: TargetRule): string[] {
  const heads = new Set([...model.classifierModules(), ...(rule.modulesToSave ?? []), "lm_head"]);
  const chosen: string[] = [];
  const linearNames: string[] = [];
  for (const [name, m] of model.namedModules()) {
    if (name === "" || !rule.isLinear(m)) continue;
    linearNames.push(name);
    if (rule.insideWrapper(name) || coveredByModulesToSave(name, rule.modulesToSave)) continue;
    const hit = rule.targets === "all-linear" ? !heads.has(name.split(".").pop()!) && !heads.has(name) : matchesTarget(name, rule.targets);
    if (!hit || (rule.excludeModules && matchesTarget(name, rule.excludeModules))) continue;
    if (rule.keep && !rule.keep(name)) continue;
    chosen.push(name);
  }
  if (chosen.length === 0) {
    throw new Error(`${rule.configName}: target modules ${JSON.stringify(rule.targets)} not found in the base model (${model.config.modelType}). ` +
      `Linear layers it has: ${[...new Set(linearNames.map((n) => n.split(".").pop()))].join(", ")}`);
  }
  return chosen;
}

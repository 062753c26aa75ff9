// LoRA injection: find the target linear layers, wrap each in a LoraLinear (or add an adapter to an
// existing wrapper). Target selection follows PEFT: exact name or dotted suffix for lists, a full
// regex match for a string, "all-linear" for every linear layer but the output heads.
import { Conv1D, Linear, type Module } from "../../../nn/index.js";
import type { PreTrainedModel } from "../../../models/pretrained.js";
import { familyOfModel } from "../../../models/registry.js";
import type { Tensor } from "../../../tensor/index.js";
import { configPattern } from "../../patterns.js";
import type { InjectingTuner } from "../../tuner.js";
import { LoraConfig } from "./config.js";
import { LoraLinear, type LinearLike } from "./layer.js";

function isLinearLike(m: Module): m is LinearLike {
  return m instanceof Linear || m instanceof Conv1D;
}

export function matchesTarget(name: string, targets: string[] | string): boolean {
  if (typeof targets === "string") return configPattern(targets, "target_modules").test(name);
  return targets.some((t) => name === t || name.endsWith(`.${t}`));
}

/** PEFT's guard: an adapter never goes on a module modules_to_save covers, nor inside one (the name itself, a dotted
 *  run of its components, and everything below: "classifier" covers RoBERTa's classifier.dense). */
export function coveredByModulesToSave(name: string, modulesToSave: readonly string[] | null): boolean {
  return (modulesToSave ?? []).some((m) => name === m || name.startsWith(`${m}.`) || name.endsWith(`.${m}`) || name.includes(`.${m}.`));
}

/** The layer index in a name like "model.layers.3.self_attn.q_proj" (after a layers_pattern segment). */
function layerIndex(name: string, patterns: string[] | null): number | null {
  const parts = name.split(".");
  for (let i = 1; i < parts.length; i++) {
    if (!/^\d+$/.test(parts[i])) continue;
    if (!patterns || patterns.includes(parts[i - 1])) return Number(parts[i]);
  }
  return null;
}

/** PEFT's rank_pattern / alpha_pattern lookup: a key matches a module name by dotted suffix regex. */
function patternValue(pattern: Record<string, number>, name: string, fallback: number): number {
  for (const [k, v] of Object.entries(pattern)) if (configPattern(k, "rank_pattern/alpha_pattern", "suffix").test(name)) return v;
  return fallback;
}

export function selectLoraTargets(model: PreTrainedModel, config: LoraConfig): string[] {
  const targets = config.targetModules ?? familyOfModel(model).peftTargets[model.config.modelType].lora;
  const heads = new Set([...model.classifierModules(), ...(config.modulesToSave ?? []), "lm_head"]);
  const layers = config.layersToTransform === null ? null : [config.layersToTransform].flat();
  const patterns = config.layersPattern === null ? null : [config.layersPattern].flat();
  const chosen: string[] = [];
  const linearNames: string[] = [];
  for (const [name, m] of model.namedModules()) {
    const candidate = isLinearLike(m) || m instanceof LoraLinear;
    if (!candidate || name === "") continue;
    linearNames.push(name);
    if (name.includes(".base_layer") || name.includes("lora_") || coveredByModulesToSave(name, config.modulesToSave)) continue;
    const hit = targets === "all-linear" ? !heads.has(name.split(".").pop()!) && !heads.has(name) : matchesTarget(name, targets);
    if (!hit) continue;
    if (config.excludeModules && matchesTarget(name, config.excludeModules)) continue;
    if (layers) {
      const idx = layerIndex(name, patterns);
      if (idx === null || !layers.includes(idx)) continue;
    }
    chosen.push(name);
  }
  if (chosen.length === 0) {
    throw new Error(`LoraConfig: target modules ${JSON.stringify(targets)} not found in the base model (${model.config.modelType}). ` +
      `Linear layers it has: ${[...new Set(linearNames.map((n) => n.split(".").pop()))].join(", ")}`);
  }
  return chosen;
}

export const loraTuner: InjectingTuner<LoraConfig> = {
  kind: "inject",
  adapterDictNames: ["lora_A", "lora_B"],

  inject(model, config, name) {
    for (const path of selectLoraTargets(model, config)) {
      const current = model.getSubmodule(path);
      let layer: LoraLinear;
      if (current instanceof LoraLinear) layer = current;
      else {
        const base = current as LinearLike;
        // Conv1D stores [in, out]: PEFT forces fan_in_fan_out on and records it in the config.
        if (base instanceof Conv1D) config.fanInFanOut = true;
        layer = new LoraLinear(base, base instanceof Conv1D || config.fanInFanOut);
        model.setSubmodule(path, layer);
      }
      const r = patternValue(config.rankPattern, path, config.r);
      layer.addAdapter(name, {
        r,
        alpha: patternValue(config.alphaPattern, path, config.loraAlpha),
        dropout: config.loraDropout,
        useRslora: config.useRslora,
        init: config.initLoraWeights,
      });
    }
  },

  extraTrainable(model, config) {
    if (config.bias === "none") return [];
    const out: Tensor[] = [];
    for (const [name, p] of model.namedParameters()) {
      if (!name.endsWith(".bias")) continue;
      if (config.bias === "all" || name.endsWith(".base_layer.bias")) out.push(p);
    }
    return out;
  },
};

// LoRA injection: find the target linear layers (PEFT's rules, in ../../targets.ts, narrowed by layers_to_transform),
// wrap each in a LoraLinear (or add an adapter to an existing wrapper).
import { Conv1D, Linear, type Module } from "../../../nn/index.js";
import type { PreTrainedModel } from "../../../models/pretrained.js";
import { familyOfModel } from "../../../models/registry.js";
import type { Tensor } from "../../../tensor/index.js";
import { configPattern } from "../../patterns.js";
import { selectLinearTargets } from "../../targets.js";
import type { InjectingTuner } from "../../tuner.js";
import { LoraConfig } from "./config.js";
import { LoraLinear, type LinearLike } from "./layer.js";

function isLinearLike(m: Module): m is LinearLike {
  return m instanceof Linear || m instanceof Conv1D;
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
  const layers = config.layersToTransform === null ? null : [config.layersToTransform].flat();
  const patterns = config.layersPattern === null ? null : [config.layersPattern].flat();
  return selectLinearTargets(model, {
    configName: "LoraConfig",
    targets: config.targetModules ?? familyOfModel(model).peftTargets[model.config.modelType].lora,
    excludeModules: config.excludeModules,
    modulesToSave: config.modulesToSave,
    isLinear: (m) => isLinearLike(m) || m instanceof LoraLinear,
    insideWrapper: (name) => name.includes(".base_layer") || name.includes("lora_"),
    keep: layers ? (name) => {
      const idx = layerIndex(name, patterns);
      return idx !== null && layers.includes(idx);
    } : undefined,
  });
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

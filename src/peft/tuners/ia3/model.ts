// (IA)³ injection: wrap every target linear layer in an IA3Linear. Targets follow PEFT's rule (exact
// name or dotted suffix for a list, full regex for a string, "all-linear"); feed-forward modules
// follow PEFT's looser one (plain suffix for a list, full regex for a string).
import { Conv1D, Linear } from "../../../nn/index.js";
import type { PreTrainedModel } from "../../../models/pretrained.js";
import { familyOfModel } from "../../../models/registry.js";
import { configPattern } from "../../patterns.js";
import { selectLinearTargets } from "../../targets.js";
import type { InjectingTuner } from "../../tuner.js";
import { IA3Config } from "./config.js";
import { IA3Linear, type Projection } from "./layer.js";

function isFeedforward(name: string, feedforward: string[] | string): boolean {
  if (typeof feedforward === "string") return configPattern(feedforward, "feedforward_modules").test(name);
  return feedforward.some((f) => name.endsWith(f));
}

/** PEFT's _prepare_adapter_config: fills the family's defaults into the config, so the saved file records them. */
function prepareConfig(model: PreTrainedModel, config: IA3Config): void {
  const defaults = familyOfModel(model).peftTargets[model.config.modelType];
  config.targetModules ??= [...defaults.ia3];
  config.feedforwardModules ??= [...defaults.ia3Feedforward];
}

export function selectIa3Targets(model: PreTrainedModel, config: IA3Config): string[] {
  prepareConfig(model, config);
  return selectLinearTargets(model, {
    configName: "IA3Config",
    targets: config.targetModules!,
    excludeModules: config.excludeModules,
    modulesToSave: config.modulesToSave,
    isLinear: (m) => m instanceof Linear || m instanceof Conv1D || m instanceof IA3Linear,
    // Ours, and a head's frozen original and copies.
    insideWrapper: (name) => /\.(base_layer|original_module|modules_to_save)(\.|$)/.test(name),
  });
}

export const ia3Tuner: InjectingTuner<IA3Config> = {
  kind: "inject",
  adapterDictNames: ["ia3_l"],

  inject(model, config, name) {
    for (const path of selectIa3Targets(model, config)) {
      const current = model.getSubmodule(path);
      // A second adapter on a wrapped layer keeps the layer's feed-forward role, as PEFT's update_layer.
      if (current instanceof IA3Linear) { current.addAdapter(name, config.initIa3Weights); continue; }
      const base = current as Projection;
      // PEFT forces fan_in_fan_out to the layer type (on for Conv1D, off for Linear) and records it.
      config.fanInFanOut = base instanceof Conv1D;
      const layer = new IA3Linear(base, isFeedforward(path, config.feedforwardModules!));
      layer.addAdapter(name, config.initIa3Weights);
      model.setSubmodule(path, layer);
    }
  },
};

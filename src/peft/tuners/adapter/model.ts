// Bottleneck adapter injection: wrap the attention output projection and/or the feed-forward output
// projection of every block. The places are the architecture's, so each family names them (its PEFT targets).
import { modelLayout } from "../../../models/layout.js";
import type { PreTrainedModel } from "../../../models/pretrained.js";
import { familyOfModel } from "../../../models/registry.js";
import { Conv1D, Linear } from "../../../nn/index.js";
import type { InjectingTuner } from "../../tuner.js";
import { AdapterConfig } from "./config.js";
import { BottleneckAdapterLayer } from "./layer.js";

export function selectAdapterTargets(model: PreTrainedModel, config: AdapterConfig): string[] {
  const points = familyOfModel(model).peftTargets[model.config.modelType].adapter;
  const inBlock = config.targetLayers === "both" ? [points.attention, points.ffn] : [points[config.targetLayers]];
  const chosen = modelLayout(model).blocks.flatMap((block) => inBlock.map((p) => `${block}.${p}`));
  for (const path of chosen) {
    const m = model.getSubmodule(path);
    if (!(m instanceof Linear || m instanceof Conv1D || m instanceof BottleneckAdapterLayer))
      throw new Error(`AdapterConfig: ${path} of the ${model.config.modelType} model is a ${m.constructor.name}, not a linear projection`);
  }
  return chosen;
}

export const adapterTuner: InjectingTuner<AdapterConfig> = {
  kind: "inject",
  adapterDictNames: ["adapter_down", "adapter_up"],

  inject(model, config, name) {
    for (const path of selectAdapterTargets(model, config)) {
      const current = model.getSubmodule(path);
      const layer = current instanceof BottleneckAdapterLayer ? current : new BottleneckAdapterLayer(current as Linear | Conv1D);
      if (layer !== current) model.setSubmodule(path, layer);
      const hidden = layer.baseLayer.outFeatures;
      layer.addAdapter(name, {
        size: config.bottleneckFor(hidden),
        nonLinearity: config.nonLinearity,
        dropout: config.adapterDropout,
        initScale: config.initScale,
      });
    }
  },
};

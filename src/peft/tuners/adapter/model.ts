// Bottleneck adapter injection: wrap the attention output projection and/or the feed-forward output
// projection of every block. The places are fixed per family, since they are the architecture's.
import { Conv1D, Linear } from "../../../nn/index.js";
import type { PreTrainedModel } from "../../../models/pretrained.js";
import { registerTuner } from "../../registry.js";
import type { InjectingTuner } from "../../tuner.js";
import { AdapterConfig } from "./config.js";
import { BottleneckAdapterLayer } from "./layer.js";

interface InsertionPoints {
  attention: RegExp;
  ffn: RegExp;
}

const LLAMA_POINTS: InsertionPoints = { attention: /\.self_attn\.o_proj$/, ffn: /\.mlp\.down_proj$/ };

/** Per model type, the full module names of the projections that end each sub-layer. */
export const ADAPTER_INSERTION_POINTS: Record<string, InsertionPoints> = {
  distilbert: { attention: /\.attention\.out_lin$/, ffn: /\.ffn\.lin2$/ },
  // Both are "output.dense"; the feed-forward one sits directly under the layer.
  bert: { attention: /\.attention\.output\.dense$/, ffn: /\.layer\.\d+\.output\.dense$/ },
  gpt2: { attention: /\.attn\.c_proj$/, ffn: /\.mlp\.c_proj$/ },
  llama: LLAMA_POINTS,
  mistral: LLAMA_POINTS,
  qwen2: LLAMA_POINTS,
};

export function selectAdapterTargets(model: PreTrainedModel, config: AdapterConfig): string[] {
  const type = model.config.modelType;
  const points = ADAPTER_INSERTION_POINTS[type];
  if (!points) throw new Error(`AdapterConfig: no adapter insertion points known for model type "${type}"; supported: ${Object.keys(ADAPTER_INSERTION_POINTS).join(", ")}`);
  const patterns = config.targetLayers === "both" ? [points.attention, points.ffn] : [points[config.targetLayers]];
  const chosen: string[] = [];
  for (const [name, m] of model.namedModules()) {
    const candidate = m instanceof Linear || m instanceof Conv1D || m instanceof BottleneckAdapterLayer;
    if (candidate && patterns.some((p) => p.test(name))) chosen.push(name);
  }
  if (chosen.length === 0) throw new Error(`AdapterConfig: found no ${config.targetLayers} output projections in the ${type} model`);
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

registerTuner("BOTTLENECK_ADAPTER", adapterTuner as InjectingTuner);

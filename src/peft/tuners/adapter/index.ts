// Bottleneck adapters (Houlsby et al. 2019): a small MLP after chosen sub-layers. Its one registration; the extra
// non-linear path cannot be folded into the weights.
import { registerPeftMethod } from "../../registry.js";
import { AdapterConfig } from "./config.js";
import { adapterTuner } from "./model.js";

registerPeftMethod({
  peftType: "BOTTLENECK_ADAPTER",
  config: AdapterConfig,
  tuner: adapterTuner,
  mergeable: false,
  cli: {
    name: "adapter", label: "adapters", baseLr: 1e-3, widthScaled: true,
    flags: { bottleneckSize: { kind: "int", min: 1, help: "bottleneck width" } },
  },
});

export { AdapterConfig } from "./config.js";
export type { AdapterConfigFields, AdapterNonLinearity, AdapterTargetLayers } from "./config.js";
export { BottleneckAdapterLayer } from "./layer.js";
export { adapterTuner, selectAdapterTargets } from "./model.js";

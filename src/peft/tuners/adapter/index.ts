export { AdapterConfig } from "./config.js";
export type { AdapterConfigFields, AdapterNonLinearity, AdapterTargetLayers } from "./config.js";
export { BottleneckAdapterLayer } from "./layer.js";
export { adapterTuner, selectAdapterTargets } from "./model.js";

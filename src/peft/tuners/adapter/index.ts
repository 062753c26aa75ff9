export { AdapterConfig } from "./config.js";
export type { AdapterConfigFields, AdapterNonLinearity, AdapterTargetLayers } from "./config.js";
export { BottleneckAdapterLayer } from "./layer.js";
export { adapterTuner, ADAPTER_INSERTION_POINTS, selectAdapterTargets } from "./model.js";

export { PrefixTuningConfig } from "./config.js";
export type { PrefixTuningConfigFields } from "./config.js";
export { PrefixEncoder, prefixTuningTuner } from "./model.js";

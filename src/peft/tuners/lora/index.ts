export { LoraConfig } from "./config.js";
export type { LoraConfigFields } from "./config.js";
export { LoraLinear } from "./layer.js";
export { loraTuner, selectLoraTargets } from "./model.js";

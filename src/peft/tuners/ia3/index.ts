export { IA3Config } from "./config.js";
export type { IA3ConfigFields } from "./config.js";
export { IA3Linear } from "./layer.js";
export { ia3Tuner, selectIa3Targets } from "./model.js";

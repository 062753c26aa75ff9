// (IA)³ (Liu et al. 2022): learned vectors rescale chosen layers' outputs (or inputs). Its one registration.
import { targetModulesFlag } from "../../cli-flags.js";
import { registerPeftMethod } from "../../registry.js";
import { IA3Config } from "./config.js";
import { ia3Tuner } from "./model.js";

registerPeftMethod({
  peftType: "IA3",
  config: IA3Config,
  tuner: ia3Tuner,
  mergeable: true,
  // Not in the taxonomy figure `compare` reproduces: compare --ia3 adds it.
  cli: { name: "ia3", label: "IA3", baseLr: 3e-3, widthScaled: true, flags: { targetModules: targetModulesFlag }, compareByDefault: false },
});

export { IA3Config } from "./config.js";
export type { IA3ConfigFields } from "./config.js";
export { IA3Linear } from "./layer.js";
export { ia3Tuner, selectIa3Targets } from "./model.js";

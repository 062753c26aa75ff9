// LoRA (Hu et al. 2021): low-rank updates beside chosen weight matrices. Its one registration.
import { targetModulesFlag } from "../../cli-flags.js";
import { registerPeftMethod } from "../../registry.js";
import { LoraConfig } from "./config.js";
import { loraTuner } from "./model.js";

registerPeftMethod({
  peftType: "LORA",
  config: LoraConfig,
  tuner: loraTuner,
  mergeable: true,
  cli: {
    name: "lora", label: "LoRA", baseLr: 5e-4, widthScaled: true,
    flags: {
      loraR: { kind: "int", min: 1, field: "r", help: "rank" },
      loraAlpha: { kind: "float", min: 0, help: "alpha" },
      loraDropout: { kind: "float", min: 0, max: 0.99, help: "dropout" },
      targetModules: targetModulesFlag,
    },
    // PEFT's examples: alpha twice the rank, some dropout.
    defaults: { loraAlpha: 16, loraDropout: 0.1 },
  },
});

export { LoraConfig } from "./config.js";
export type { LoraConfigFields } from "./config.js";
export { LoraLinear } from "./layer.js";
export { loraTuner, selectLoraTargets } from "./model.js";

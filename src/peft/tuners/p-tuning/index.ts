// P-tuning (Liu et al. 2021): virtual tokens produced by a small trained encoder. Its one registration.
import { DEFAULT_VIRTUAL_TOKENS, encoderHiddenSizeFlag, numVirtualTokensFlag } from "../../cli-flags.js";
import { registerPeftMethod } from "../../registry.js";
import { PromptEncoderConfig } from "./config.js";
import { pTuningTuner } from "./model.js";

registerPeftMethod({
  peftType: "P_TUNING",
  config: PromptEncoderConfig,
  tuner: pTuningTuner,
  mergeable: false,
  cli: {
    name: "p-tuning", label: "P-tuning", baseLr: 1e-3, widthScaled: false,
    flags: { numVirtualTokens: numVirtualTokensFlag, encoderHiddenSize: encoderHiddenSizeFlag },
    defaults: { numVirtualTokens: DEFAULT_VIRTUAL_TOKENS },
  },
});

export { PromptEncoderConfig } from "./config.js";
export type { PromptEncoderConfigFields, PromptEncoderReparameterizationType } from "./config.js";
export { PromptEncoder, pTuningTuner } from "./model.js";

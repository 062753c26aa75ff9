// Prefix tuning (Li & Liang 2021): trained keys and values in front of every layer's. Its one registration.
import { DEFAULT_VIRTUAL_TOKENS, encoderHiddenSizeFlag, numVirtualTokensFlag } from "../../cli-flags.js";
import { registerPeftMethod } from "../../registry.js";
import { PrefixTuningConfig } from "./config.js";
import { prefixTuningTuner } from "./model.js";

registerPeftMethod({
  peftType: "PREFIX_TUNING",
  config: PrefixTuningConfig,
  tuner: prefixTuningTuner,
  mergeable: false,
  cli: {
    // Through the MLP (Li & Liang's own set-up: they found the prefix unstable to train directly) the rate is
    // P-tuning's, whose encoder is the same kind of MLP; the bare prefix wants ten times it.
    name: "prefix", label: "prefix tuning", baseLr: (o) => (o.prefixProjection ? 1e-3 : 1e-2), widthScaled: false,
    flags: {
      numVirtualTokens: numVirtualTokensFlag,
      encoderHiddenSize: encoderHiddenSizeFlag,
      prefixProjection: { kind: "bool", help: "reparameterize the prefix through an MLP; =false trains it directly" },
    },
    defaults: { numVirtualTokens: DEFAULT_VIRTUAL_TOKENS, prefixProjection: true },
  },
});

export { PrefixTuningConfig } from "./config.js";
export type { PrefixTuningConfigFields } from "./config.js";
export { PrefixEncoder, prefixTuningTuner } from "./model.js";

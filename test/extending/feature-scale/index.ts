// A toy PEFT method added from outside the library, the way docs/extending.md describes: a config on the schema,
// a tuner (./layer.ts), and one registration. test/extending/peft-method.test.ts trains, saves, predicts, merges
// and compares it through the command line.
import { PEFT_FIELDS, PeftConfig, registerPeftMethod, targetModulesFlag, type ConfigFields, type SchemaValues } from "../../../src/index.js";
import { featureScaleTuner } from "./layer.js";

const FEATURE_SCALE_FIELDS = {
  ...PEFT_FIELDS,
  /** Names (exact or dotted suffix) of the Linear layers to scale; default: the family's LoRA targets. */
  targetModules: { kind: "string[]", default: null, nullable: true },
} as const;

export interface FeatureScaleConfig extends SchemaValues<typeof FEATURE_SCALE_FIELDS> {}

export class FeatureScaleConfig extends PeftConfig {
  static override readonly fields = FEATURE_SCALE_FIELDS;

  constructor(fields: ConfigFields<typeof FEATURE_SCALE_FIELDS> = {}) {
    super(fields);
  }
}

registerPeftMethod({
  peftType: "FEATURE_SCALE",
  config: FeatureScaleConfig,
  tuner: featureScaleTuner,
  mergeable: true,
  cli: {
    name: "scale", label: "feature scale", baseLr: 3e-3, widthScaled: true,
    flags: { targetModules: targetModulesFlag },
  },
});

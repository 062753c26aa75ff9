import type { PeftModelFacts } from "../../../models/outputs.js";
import type { Schema } from "../../../models/config.js";
import type { ConfigFields, SchemaValues } from "../../config.js";
import { MAX_ADAPTER_SIZE, SIZE_FIELD } from "../../patterns.js";
import { PROMPT_LEARNING_FIELDS, PromptLearningConfig } from "../../tuner.js";

const P_TUNING_FIELDS = {
  ...PROMPT_LEARNING_FIELDS,
  encoderReparameterizationType: { kind: "string", oneOf: ["MLP", "LSTM"], default: "MLP" },
  /** Default: token_dim. */
  encoderHiddenSize: SIZE_FIELD,
  /** LSTM layers; the MLP always has PEFT's three linear layers. */
  encoderNumLayers: { kind: "int", default: 2, min: 1, max: MAX_ADAPTER_SIZE },
  /** Dropout between LSTM layers. */
  encoderDropout: { kind: "float", default: 0, min: 0, below: 1 },
} as const satisfies Schema;

export type PromptEncoderConfigFields = ConfigFields<typeof P_TUNING_FIELDS>;
export type PromptEncoderReparameterizationType = PromptEncoderConfig["encoderReparameterizationType"];

export interface PromptEncoderConfig extends SchemaValues<typeof P_TUNING_FIELDS> {}

/** P-tuning's config (PEFT's PromptEncoderConfig). */
export class PromptEncoderConfig extends PromptLearningConfig {
  static override readonly fields = P_TUNING_FIELDS;

  constructor(fields: PromptEncoderConfigFields = {}) {
    super(fields);
    // Our LSTM has no dropout between layers yet; training would silently differ from PEFT's.
    if (this.encoderReparameterizationType === "LSTM" && this.encoderNumLayers > 1 && this.encoderDropout > 0)
      throw new Error("PromptEncoderConfig: encoder_dropout > 0 with a multi-layer LSTM is not supported yet");
  }

  override prepare(facts: PeftModelFacts): void {
    super.prepare(facts);
    this.requireHiddenSize(facts);
    this.encoderHiddenSize ??= this.tokenDim;
  }
}

import type { PeftModelFacts } from "../../../models/outputs.js";
import { registerPeftConfig } from "../../config.js";
import { PromptLearningConfig, type PromptLearningConfigFields } from "../../tuner.js";

export type PromptEncoderReparameterizationType = "MLP" | "LSTM";

export interface PromptEncoderConfigFields extends PromptLearningConfigFields {
  encoderReparameterizationType?: PromptEncoderReparameterizationType;
  /** Default: token_dim. */
  encoderHiddenSize?: number | null;
  /** LSTM layers; the MLP always has PEFT's three linear layers. */
  encoderNumLayers?: number;
  /** Dropout between LSTM layers. */
  encoderDropout?: number;
}

/** P-tuning's config (PEFT's PromptEncoderConfig). */
export class PromptEncoderConfig extends PromptLearningConfig {
  readonly peftType = "P_TUNING" as const;
  encoderReparameterizationType: PromptEncoderReparameterizationType = "MLP";
  encoderHiddenSize: number | null = null;
  encoderNumLayers = 2;
  encoderDropout = 0;

  constructor(fields: PromptEncoderConfigFields = {}) {
    super();
    this.assign(fields);
    this.checkSizes("encoderHiddenSize", "encoderNumLayers");
    if (this.encoderReparameterizationType !== "MLP" && this.encoderReparameterizationType !== "LSTM")
      throw new Error(`PromptEncoderConfig: encoder_reparameterization_type must be MLP or LSTM, got ${JSON.stringify(this.encoderReparameterizationType)}`);
    if (!(this.encoderDropout >= 0 && this.encoderDropout < 1))
      throw new Error(`PromptEncoderConfig: encoder_dropout must be in [0, 1), got ${this.encoderDropout}`);
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

registerPeftConfig("P_TUNING", PromptEncoderConfig as never);

import type { PeftModelFacts } from "../../../models/outputs.js";
import type { Schema } from "../../../models/config.js";
import type { ConfigFields, SchemaValues } from "../../config.js";
import { PROMPT_LEARNING_FIELDS, PromptLearningConfig } from "../../tuner.js";

const PROMPT_TUNING_FIELDS = {
  ...PROMPT_LEARNING_FIELDS,
  /** RANDOM: N(0, 1) rows; TEXT: the word embeddings of the init text's tokens; SAMPLE_VOCAB: the word embeddings of
   *  random vocabulary tokens. */
  promptTuningInit: { kind: "string", oneOf: ["RANDOM", "TEXT", "SAMPLE_VOCAB"], default: "RANDOM" },
  promptTuningInitText: { kind: "string", default: null, nullable: true },
  /** Recorded for PEFT, which loads this tokenizer for TEXT; we take the token ids instead
   *  (TunerOptions.promptTuningInitTokenIds). */
  tokenizerNameOrPath: { kind: "string", default: null, nullable: true },
  tokenizerKwargs: { kind: "object", default: null, nullable: true },
} as const satisfies Schema;

export type PromptTuningConfigFields = ConfigFields<typeof PROMPT_TUNING_FIELDS>;
export type PromptTuningInit = PromptTuningConfig["promptTuningInit"];

export interface PromptTuningConfig extends SchemaValues<typeof PROMPT_TUNING_FIELDS> {}

export class PromptTuningConfig extends PromptLearningConfig {
  static override readonly fields = PROMPT_TUNING_FIELDS;

  constructor(fields: PromptTuningConfigFields = {}) {
    super(fields);
    // PEFT's own checks, so every config we write loads in Python.
    if (this.promptTuningInit === "TEXT" && !this.tokenizerNameOrPath)
      throw new Error("PromptTuningConfig: prompt_tuning_init TEXT needs tokenizer_name_or_path");
    if (this.promptTuningInit === "TEXT" && this.promptTuningInitText === null)
      throw new Error("PromptTuningConfig: prompt_tuning_init TEXT needs prompt_tuning_init_text");
    if (this.tokenizerKwargs && this.promptTuningInit !== "TEXT")
      throw new Error("PromptTuningConfig: tokenizer_kwargs is only valid with prompt_tuning_init TEXT");
  }

  override prepare(facts: PeftModelFacts): void {
    super.prepare(facts);
    this.requireHiddenSize(facts);
  }
}

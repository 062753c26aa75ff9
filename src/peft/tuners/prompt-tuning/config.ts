import type { PeftModelFacts } from "../../../models/outputs.js";
import { registerPeftConfig } from "../../config.js";
import { PromptLearningConfig, type PromptLearningConfigFields } from "../../tuner.js";

/** RANDOM: N(0, 1) rows; TEXT: the word embeddings of the init text's tokens; SAMPLE_VOCAB: the word
 *  embeddings of random vocabulary tokens. */
export type PromptTuningInit = "RANDOM" | "TEXT" | "SAMPLE_VOCAB";

export interface PromptTuningConfigFields extends PromptLearningConfigFields {
  promptTuningInit?: PromptTuningInit;
  promptTuningInitText?: string | null;
  /** Recorded for PEFT, which loads this tokenizer for TEXT; we take the token ids instead
   *  (TunerOptions.promptTuningInitTokenIds). */
  tokenizerNameOrPath?: string | null;
  tokenizerKwargs?: Record<string, unknown> | null;
}

export class PromptTuningConfig extends PromptLearningConfig {
  readonly peftType = "PROMPT_TUNING" as const;
  promptTuningInit: PromptTuningInit = "RANDOM";
  promptTuningInitText: string | null = null;
  tokenizerNameOrPath: string | null = null;
  tokenizerKwargs: Record<string, unknown> | null = null;

  constructor(fields: PromptTuningConfigFields = {}) {
    super();
    this.assign(fields);
    this.checkSizes();
    if (!["RANDOM", "TEXT", "SAMPLE_VOCAB"].includes(this.promptTuningInit))
      throw new Error(`PromptTuningConfig: prompt_tuning_init must be RANDOM, TEXT or SAMPLE_VOCAB, got ${JSON.stringify(this.promptTuningInit)}`);
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

registerPeftConfig("PROMPT_TUNING", PromptTuningConfig as never);

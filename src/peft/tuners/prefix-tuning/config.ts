import type { PeftModelFacts } from "../../../models/outputs.js";
import { registerPeftConfig } from "../../config.js";
import { PromptLearningConfig, type PromptLearningConfigFields } from "../../tuner.js";

export interface PrefixTuningConfigFields extends PromptLearningConfigFields {
  /** "zero": the prefix starts as zeros (projection: the last layer's weight and bias). */
  initWeights?: "zero" | null;
  /** Width of the projection's hidden layer; default token_dim. */
  encoderHiddenSize?: number | null;
  prefixProjection?: boolean;
}

export class PrefixTuningConfig extends PromptLearningConfig {
  readonly peftType = "PREFIX_TUNING" as const;
  initWeights: "zero" | null = null;
  encoderHiddenSize: number | null = null;
  prefixProjection = false;

  constructor(fields: PrefixTuningConfigFields = {}) {
    super();
    this.assign(fields);
    this.checkSizes("encoderHiddenSize");
    if (this.initWeights !== null && this.initWeights !== "zero")
      throw new Error(`PrefixTuningConfig: init_weights must be null or "zero", got ${JSON.stringify(this.initWeights)}`);
  }

  /** The prefix is every layer's past keys/values, so it takes the key/value heads' shape. PEFT (0.18 on), for
   *  configs with num_key_value_heads, uses num_attention_heads = num_key_value_heads and token_dim = head_dim *
   *  num_key_value_heads, head_dim from the config when it has one (Qwen3's differs from hidden / heads); sizes
   *  left at the model's defaults are replaced so. */
  override prepare(facts: PeftModelFacts): void {
    super.prepare(facts);
    const kv = facts.numKeyValueHeads;
    if (this.numAttentionHeads === facts.numAttentionHeads && this.tokenDim === facts.hiddenSize) {
      this.tokenDim = facts.headDim * kv;
      this.numAttentionHeads = kv;
    }
    if (this.numLayers !== facts.numLayers || this.numAttentionHeads !== kv || this.tokenDim !== facts.headDim * kv)
      throw new Error(`PrefixTuningConfig: num_layers ${this.numLayers}, num_attention_heads ${this.numAttentionHeads} and token_dim ` +
        `${this.tokenDim} do not fit ${facts.modelType}, which has ${facts.numLayers} layers of ${kv} key/value heads of size ${facts.headDim}`);
    this.encoderHiddenSize ??= this.tokenDim;
  }
}

registerPeftConfig("PREFIX_TUNING", PrefixTuningConfig as never);

import type { PeftModelFacts } from "../../../models/outputs.js";
import type { Schema } from "../../../models/config.js";
import type { ConfigFields, SchemaValues } from "../../config.js";
import { SIZE_FIELD } from "../../patterns.js";
import { PROMPT_LEARNING_FIELDS, PromptLearningConfig } from "../../tuner.js";

const PREFIX_TUNING_FIELDS = {
  ...PROMPT_LEARNING_FIELDS,
  /** "zero": the prefix starts as zeros (projection: the last layer's weight and bias). */
  initWeights: { kind: "string", oneOf: ["zero"], default: null, nullable: true },
  /** Width of the projection's hidden layer; default token_dim. */
  encoderHiddenSize: SIZE_FIELD,
  prefixProjection: { kind: "bool", default: false },
} as const satisfies Schema;

export type PrefixTuningConfigFields = ConfigFields<typeof PREFIX_TUNING_FIELDS>;

export interface PrefixTuningConfig extends SchemaValues<typeof PREFIX_TUNING_FIELDS> {}

export class PrefixTuningConfig extends PromptLearningConfig {
  static override readonly fields = PREFIX_TUNING_FIELDS;

  constructor(fields: PrefixTuningConfigFields = {}) {
    super(fields);
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

// Bottleneck adapters (Houlsby et al. 2019). PEFT has none, so the peft_type is ours; the files
// follow PEFT's layout and key rule all the same.
import { PeftConfig, PeftConfigFields, registerPeftConfig } from "../../config.js";
import { MAX_ADAPTER_SIZE } from "../../patterns.js";

export type AdapterNonLinearity = "relu" | "gelu" | "tanh";
export type AdapterTargetLayers = "attention" | "ffn" | "both";

export interface AdapterConfigFields extends PeftConfigFields {
  /** Width of the bottleneck (default 64). */
  bottleneckSize?: number;
  /** When set, the width is floor(hidden / reductionFactor), at least 1, and bottleneckSize is unused
   *  (it keeps a number so adapter_config.json stays loadable). */
  reductionFactor?: number | null;
  nonLinearity?: AdapterNonLinearity;
  /** Dropout on the adapter's input (training only). */
  adapterDropout?: number;
  /** Which sub-layer outputs of every block get an adapter; "both" is Houlsby's placement. */
  targetLayers?: AdapterTargetLayers;
  /** Std of the down-projection's normal init. The up-projection starts at zero, so a fresh adapter
   *  is the identity and the model's outputs are unchanged. */
  initScale?: number;
}

const NON_LINEARITIES: readonly string[] = ["relu", "gelu", "tanh"];
const TARGET_LAYERS: readonly string[] = ["attention", "ffn", "both"];

export class AdapterConfig extends PeftConfig {
  readonly peftType = "BOTTLENECK_ADAPTER" as const;
  bottleneckSize = 64;
  reductionFactor: number | null = null;
  nonLinearity: AdapterNonLinearity = "relu";
  adapterDropout = 0;
  targetLayers: AdapterTargetLayers = "both";
  initScale = 1e-2;

  constructor(fields: AdapterConfigFields = {}) {
    super();
    this.assign(fields);
    if (!(Number.isInteger(this.bottleneckSize) && this.bottleneckSize > 0 && this.bottleneckSize <= MAX_ADAPTER_SIZE))
      throw new Error(`AdapterConfig: bottleneck_size must be a positive integer up to ${MAX_ADAPTER_SIZE}, got ${JSON.stringify(this.bottleneckSize)}`);
    if (this.reductionFactor !== null && !(typeof this.reductionFactor === "number" && this.reductionFactor > 0))
      throw new Error(`AdapterConfig: reduction_factor must be a positive number, got ${JSON.stringify(this.reductionFactor)}`);
    if (!NON_LINEARITIES.includes(this.nonLinearity))
      throw new Error(`AdapterConfig: non_linearity must be one of ${NON_LINEARITIES.join(", ")}, got ${JSON.stringify(this.nonLinearity)}`);
    if (!TARGET_LAYERS.includes(this.targetLayers))
      throw new Error(`AdapterConfig: target_layers must be one of ${TARGET_LAYERS.join(", ")}, got ${JSON.stringify(this.targetLayers)}`);
    if (!(this.adapterDropout >= 0 && this.adapterDropout < 1)) throw new Error(`AdapterConfig: adapter_dropout must be in [0, 1), got ${this.adapterDropout}`);
    // At zero both projections would stay zero: neither would ever get a gradient.
    if (!(this.initScale > 0)) throw new Error(`AdapterConfig: init_scale must be positive, got ${this.initScale}`);
  }

  /** The bottleneck width for a sub-layer whose output has `hidden` features. */
  bottleneckFor(hidden: number): number {
    return this.reductionFactor === null ? this.bottleneckSize : Math.max(1, Math.floor(hidden / this.reductionFactor));
  }
}

registerPeftConfig("BOTTLENECK_ADAPTER", AdapterConfig as never);

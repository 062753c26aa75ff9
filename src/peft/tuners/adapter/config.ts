// Bottleneck adapters (Houlsby et al. 2019). PEFT has none, so the peft_type is ours; the files
// follow PEFT's layout and key rule all the same.
import { PEFT_FIELDS, PeftConfig, type ConfigFields, type SchemaValues } from "../../config.js";
import type { Schema } from "../../../models/config.js";
import { MAX_ADAPTER_SIZE } from "../../patterns.js";

const ADAPTER_FIELDS = {
  ...PEFT_FIELDS,
  /** Width of the bottleneck. */
  bottleneckSize: { kind: "int", default: 64, min: 1, max: MAX_ADAPTER_SIZE },
  /** When set, the width is floor(hidden / reductionFactor), at least 1, and bottleneckSize is unused (it keeps a
   *  number so adapter_config.json stays loadable). */
  reductionFactor: { kind: "float", default: null, nullable: true, above: 0 },
  nonLinearity: { kind: "string", oneOf: ["relu", "gelu", "tanh"], default: "relu" },
  /** Dropout on the adapter's input (training only). */
  adapterDropout: { kind: "float", default: 0, min: 0, below: 1 },
  /** Which sub-layer outputs of every block get an adapter; "both" is Houlsby's placement. */
  targetLayers: { kind: "string", oneOf: ["attention", "ffn", "both"], default: "both" },
  /** Std of the down-projection's normal init. The up-projection starts at zero, so a fresh adapter is the identity
   *  and the model's outputs are unchanged; at zero both would stay zero, neither ever getting a gradient. */
  initScale: { kind: "float", default: 1e-2, above: 0 },
} as const satisfies Schema;

export type AdapterConfigFields = ConfigFields<typeof ADAPTER_FIELDS>;
export type AdapterNonLinearity = AdapterConfig["nonLinearity"];
export type AdapterTargetLayers = AdapterConfig["targetLayers"];

export interface AdapterConfig extends SchemaValues<typeof ADAPTER_FIELDS> {}

export class AdapterConfig extends PeftConfig {
  static override readonly fields = ADAPTER_FIELDS;

  constructor(fields: AdapterConfigFields = {}) {
    super(fields);
  }

  /** The bottleneck width for a sub-layer whose output has `hidden` features. */
  bottleneckFor(hidden: number): number {
    return this.reductionFactor === null ? this.bottleneckSize : Math.max(1, Math.floor(hidden / this.reductionFactor));
  }
}

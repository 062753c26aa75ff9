import { PEFT_FIELDS, PeftConfig, type ConfigFields, type SchemaValues } from "../../config.js";
import type { Schema } from "../../../models/config.js";
import { MAX_ADAPTER_SIZE, MODULE_NAMES_FIELD, patternProblem } from "../../patterns.js";

/** rank_pattern and alpha_pattern keys are regular expressions matched against a module name's dotted suffix. */
function patternKeysProblem(pattern: Record<string, number>): string | undefined {
  for (const key of Object.keys(pattern)) {
    const problem = patternProblem(key, "suffix");
    if (problem) return `has a key that is not usable: ${problem}`;
  }
  return undefined;
}

const LORA_FIELDS = {
  ...PEFT_FIELDS,
  r: { kind: "int", default: 8, min: 1, max: MAX_ADAPTER_SIZE },
  /** Module names (exact or dotted suffix), one regex string matched against the full name, or "all-linear".
   *  Default: PEFT's per-model mapping (ours for DistilBERT: q_lin, v_lin). */
  targetModules: MODULE_NAMES_FIELD,
  excludeModules: MODULE_NAMES_FIELD,
  loraAlpha: { kind: "float", default: 8 },
  loraDropout: { kind: "float", default: 0, min: 0, below: 1 },
  /** True when the target stores its weight [in, out] (GPT-2 Conv1D; forced on for it). */
  fanInFanOut: { kind: "bool", default: false },
  bias: { kind: "string", oneOf: ["none", "all", "lora_only"], default: "none" },
  useRslora: { kind: "bool", default: false },
  initLoraWeights: { kind: ["bool", "string"], oneOf: ["gaussian"], default: true },
  /** Layer indices, checked by the layer number in the module name. */
  layersToTransform: { kind: ["int[]", "int"], min: 0, default: null, nullable: true },
  /** The name of the layer list (plain names, not regexes), e.g. "layers". */
  layersPattern: { kind: ["string[]", "string"], default: null, nullable: true },
  rankPattern: { kind: "map<int>", default: {}, min: 1, max: MAX_ADAPTER_SIZE, check: patternKeysProblem },
  alphaPattern: { kind: "map<float>", default: {}, above: 0, check: patternKeysProblem },
  useDora: { kind: "bool", default: false, check: (on: boolean) => (on ? "is true, but DoRA is not supported yet" : undefined) },
} as const satisfies Schema;

export type LoraConfigFields = ConfigFields<typeof LORA_FIELDS>;

export interface LoraConfig extends SchemaValues<typeof LORA_FIELDS> {}

export class LoraConfig extends PeftConfig {
  static override readonly fields = LORA_FIELDS;

  constructor(fields: LoraConfigFields = {}) {
    super(fields);
  }
}

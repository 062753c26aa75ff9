import { PEFT_FIELDS, PeftConfig, type ConfigFields, type SchemaValues } from "../../config.js";
import type { Schema } from "../../../models/config.js";
import { MODULE_NAMES_FIELD } from "../../patterns.js";

const IA3_FIELDS = {
  ...PEFT_FIELDS,
  /** Module names (exact or dotted suffix), one regex string matched against the full name, or "all-linear".
   *  Default: PEFT's per-model mapping (ours for DistilBERT: k_lin, v_lin, lin2). */
  targetModules: MODULE_NAMES_FIELD,
  excludeModules: MODULE_NAMES_FIELD,
  /** Targets whose INPUT is scaled (the rest scale their output). A list matches by plain suffix, a string as a full
   *  regex. Default: PEFT's per-model mapping (ours for DistilBERT: lin2). */
  feedforwardModules: MODULE_NAMES_FIELD,
  /** True when the target stores its weight [in, out] (GPT-2 Conv1D; forced on for it, off for Linear). */
  fanInFanOut: { kind: "bool", default: false },
  /** False starts the vectors random instead of ones (PEFT discourages it; tests use it). */
  initIa3Weights: { kind: "bool", default: true },
} as const satisfies Schema;

export type IA3ConfigFields = ConfigFields<typeof IA3_FIELDS>;

export interface IA3Config extends SchemaValues<typeof IA3_FIELDS> {}

export class IA3Config extends PeftConfig {
  static override readonly fields = IA3_FIELDS;

  constructor(fields: IA3ConfigFields = {}) {
    super(fields);
    // PEFT checks the subset relation only when both are lists, not for regexes.
    if (Array.isArray(this.feedforwardModules) && Array.isArray(this.targetModules)) {
      const targets = new Set(this.targetModules);
      const stray = this.feedforwardModules.filter((m) => !targets.has(m));
      if (stray.length) throw new Error(`IA3Config: feedforward_modules should be a subset of target_modules; not targeted: ${stray.join(", ")}`);
    }
  }
}

import { PeftConfig, PeftConfigFields, registerPeftConfig } from "../../config.js";
import { checkModuleNames } from "../../patterns.js";

export interface IA3ConfigFields extends PeftConfigFields {
  /** Module names (exact or dotted suffix), one regex string matched against the full name, or
   *  "all-linear". Default: PEFT's per-model mapping (ours for DistilBERT: k_lin, v_lin, lin2). */
  targetModules?: string[] | string | null;
  excludeModules?: string[] | string | null;
  /** Targets whose INPUT is scaled (the rest scale their output). A list matches by plain suffix,
   *  a string as a full regex. Default: PEFT's per-model mapping (ours for DistilBERT: lin2). */
  feedforwardModules?: string[] | string | null;
  /** True when the target stores its weight [in, out] (GPT-2 Conv1D; forced on for it, off for Linear). */
  fanInFanOut?: boolean;
  /** False starts the vectors random instead of ones (PEFT discourages it; tests use it). */
  initIa3Weights?: boolean;
}

export class IA3Config extends PeftConfig {
  readonly peftType = "IA3" as const;
  targetModules: string[] | string | null = null;
  excludeModules: string[] | string | null = null;
  feedforwardModules: string[] | string | null = null;
  fanInFanOut = false;
  initIa3Weights = true;

  constructor(fields: IA3ConfigFields = {}) {
    super();
    this.assign(fields);
    checkModuleNames(this.targetModules, "IA3Config: target_modules");
    checkModuleNames(this.excludeModules, "IA3Config: exclude_modules");
    checkModuleNames(this.feedforwardModules, "IA3Config: feedforward_modules");
    // PEFT checks the subset relation only when both are lists, not for regexes.
    if (Array.isArray(this.feedforwardModules) && Array.isArray(this.targetModules)) {
      const targets = new Set(this.targetModules);
      const stray = this.feedforwardModules.filter((m) => !targets.has(m));
      if (stray.length) throw new Error(`IA3Config: feedforward_modules should be a subset of target_modules; not targeted: ${stray.join(", ")}`);
    }
  }
}

registerPeftConfig("IA3", IA3Config as never);

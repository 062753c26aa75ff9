import { PeftConfig, PeftConfigFields, registerPeftConfig } from "../../config.js";

export interface LoraConfigFields extends PeftConfigFields {
  r?: number;
  /** Module names (exact or dotted suffix), one regex string matched against the full name, or
   *  "all-linear". Default: PEFT's per-model mapping (ours for DistilBERT: q_lin, v_lin). */
  targetModules?: string[] | string | null;
  excludeModules?: string[] | string | null;
  loraAlpha?: number;
  loraDropout?: number;
  /** True when the target stores its weight [in, out] (GPT-2 Conv1D; forced on for it). */
  fanInFanOut?: boolean;
  bias?: "none" | "all" | "lora_only";
  useRslora?: boolean;
  initLoraWeights?: boolean | "gaussian";
  layersToTransform?: number[] | number | null;
  layersPattern?: string[] | string | null;
  rankPattern?: Record<string, number>;
  alphaPattern?: Record<string, number>;
  useDora?: boolean;
}

export class LoraConfig extends PeftConfig {
  readonly peftType = "LORA" as const;
  r = 8;
  targetModules: string[] | string | null = null;
  excludeModules: string[] | string | null = null;
  loraAlpha = 8;
  loraDropout = 0;
  fanInFanOut = false;
  bias: "none" | "all" | "lora_only" = "none";
  useRslora = false;
  initLoraWeights: boolean | "gaussian" = true;
  layersToTransform: number[] | number | null = null;
  layersPattern: string[] | string | null = null;
  rankPattern: Record<string, number> = {};
  alphaPattern: Record<string, number> = {};
  useDora = false;

  constructor(fields: LoraConfigFields = {}) {
    super();
    this.assign(fields);
    if (!Number.isInteger(this.r) || this.r <= 0) throw new Error(`LoraConfig: r must be a positive integer, got ${this.r}`);
    if (this.useDora) throw new Error("LoraConfig: DoRA (use_dora) is not supported yet");
    if (!(this.loraDropout >= 0 && this.loraDropout < 1)) throw new Error(`LoraConfig: lora_dropout must be in [0, 1), got ${this.loraDropout}`);
  }
}

registerPeftConfig("LORA", LoraConfig as never);

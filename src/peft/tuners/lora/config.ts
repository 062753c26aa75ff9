import { PeftConfig, PeftConfigFields, registerPeftConfig } from "../../config.js";
import { MAX_ADAPTER_SIZE, checkModuleNames, configPattern } from "../../patterns.js";

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
    if (this.r > MAX_ADAPTER_SIZE) throw new Error(`LoraConfig: r is ${this.r}, an absurd rank (limit ${MAX_ADAPTER_SIZE}); is the file corrupt?`);
    if (this.useDora) throw new Error("LoraConfig: DoRA (use_dora) is not supported yet");
    if (!(this.loraDropout >= 0 && this.loraDropout < 1)) throw new Error(`LoraConfig: lora_dropout must be in [0, 1), got ${this.loraDropout}`);
    // adapter_config.json may hold anything: check the shapes the injection code relies on.
    checkModuleNames(this.targetModules, "LoraConfig: target_modules");
    checkModuleNames(this.excludeModules, "LoraConfig: exclude_modules");
    checkModuleNames(this.layersPattern, "LoraConfig: layers_pattern", { allowRegex: false });
    const layers = this.layersToTransform;
    if (layers !== null && ![layers].flat().every((l) => Number.isInteger(l) && (l as number) >= 0))
      throw new Error(`LoraConfig: layers_to_transform must be a layer index or a list of them, got ${JSON.stringify(layers)}`);
    if (!["none", "all", "lora_only"].includes(this.bias)) throw new Error(`LoraConfig: bias must be "none", "all" or "lora_only", got ${JSON.stringify(this.bias)}`);
    if (this.initLoraWeights !== true && this.initLoraWeights !== false && this.initLoraWeights !== "gaussian")
      throw new Error(`LoraConfig: init_lora_weights must be true, false or "gaussian", got ${JSON.stringify(this.initLoraWeights)}`);
    for (const [field, pattern] of [["rank_pattern", this.rankPattern], ["alpha_pattern", this.alphaPattern]] as const) {
      if (typeof pattern !== "object" || pattern === null || Array.isArray(pattern))
        throw new Error(`LoraConfig: ${field} must be an object of module pattern -> number, got ${JSON.stringify(pattern)}`);
      for (const [k, v] of Object.entries(pattern)) {
        if (typeof v !== "number" || !(v > 0)) throw new Error(`LoraConfig: ${field} maps ${JSON.stringify(k)} to ${JSON.stringify(v)}, not a positive number`);
        if (field === "rank_pattern" && (!Number.isInteger(v) || v > MAX_ADAPTER_SIZE)) throw new Error(`LoraConfig: rank_pattern maps ${JSON.stringify(k)} to ${v}, not an integer rank up to ${MAX_ADAPTER_SIZE}`);
        configPattern(k, `LoraConfig: ${field}`, "suffix");
      }
    }
  }
}

registerPeftConfig("LORA", LoraConfig as never);

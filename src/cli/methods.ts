// The fine-tuning methods by CLI name, and the one place each is set up on a freshly loaded model; `train`
// and `compare` both go through prepareMethod, so a method means the same thing in both.
import { trainLastLayers, unfreeze, type Pooling } from "../methods/index.js";
import type { PreTrainedModel } from "../models/index.js";
import {
  AdapterConfig, IA3Config, LoraConfig, PrefixTuningConfig, PromptEncoderConfig, PromptTuningConfig, getPeftModel,
  type PeftConfig, type PeftModel, type TaskType, type TunerOptions,
} from "../peft/index.js";
import type { PreTrainedTokenizer } from "../tokenizers/index.js";

export const METHODS = ["feature", "head", "last-layers", "full", "lora", "prompt", "p-tuning", "prefix", "ia3", "adapter"] as const;
export type MethodName = (typeof METHODS)[number];
export type Task = "seq-cls" | "causal-lm";

export interface MethodInfo {
  /** The row label in reports and charts. */
  label: string;
  /** Raschka's taxonomy: feature-based, the fine-tuning of some or all layers, or parameter-efficient. */
  category: "feature-based" | "layer fine-tuning" | "parameter-efficient";
  /** Learning rate for a base-sized model (hidden size 768) when --lr is not given: the usual order of magnitude
   *  for the method (BERT's fine-tuning, PEFT's examples, the IA3 and adapter papers), since one rate for all
   *  would starve some methods and wreck others. */
  baseLr: number;
  /** The rate scales with the model's width (defaultLr): the method trains weights inside the network, not inputs. */
  widthScaled: boolean;
  /** Prompt methods put this many positions in front of the text (numVirtualTokens). */
  virtualTokens: boolean;
}

export const METHOD_INFO: Record<MethodName, MethodInfo> = {
  feature: { label: "feature-based", category: "feature-based", baseLr: 0, widthScaled: false, virtualTokens: false },
  head: { label: "head only", category: "layer fine-tuning", baseLr: 1e-3, widthScaled: true, virtualTokens: false },
  "last-layers": { label: "last layers", category: "layer fine-tuning", baseLr: 1e-4, widthScaled: true, virtualTokens: false },
  full: { label: "full", category: "layer fine-tuning", baseLr: 5e-5, widthScaled: true, virtualTokens: false },
  lora: { label: "LoRA", category: "parameter-efficient", baseLr: 5e-4, widthScaled: true, virtualTokens: false },
  prompt: { label: "prompt tuning", category: "parameter-efficient", baseLr: 3e-2, widthScaled: false, virtualTokens: true },
  "p-tuning": { label: "P-tuning", category: "parameter-efficient", baseLr: 1e-3, widthScaled: false, virtualTokens: true },
  prefix: { label: "prefix tuning", category: "parameter-efficient", baseLr: 1e-2, widthScaled: false, virtualTokens: true },
  ia3: { label: "IA3", category: "parameter-efficient", baseLr: 3e-3, widthScaled: true, virtualTokens: false },
  adapter: { label: "adapters", category: "parameter-efficient", baseLr: 1e-3, widthScaled: true, virtualTokens: false },
};

/** The width METHOD_INFO's baseLr values are usual at: BERT-base, DistilBERT, GPT-2 small. */
const BASE_WIDTH = 768;
/** The most a narrow model's rate is raised over baseLr: beyond ten times, extrapolating from base-sized models
 *  is a guess (--lr auto measures instead). */
const MAX_WIDTH_FACTOR = 10;

/**
 * The learning rate when --lr is not given: baseLr, times 768 / hidden size (capped at 10) for the methods that
 * train weights inside the network (the head, last layers, full, LoRA, IA3, adapters). Under Adam the best rate of
 * a weight matrix falls as 1/fan-in (the muP scaling, Yang et al. 2022, "Tensor Programs V"), so the usual rates,
 * found on base-sized models, are too small for narrow ones. Measured on the bundled model (hidden size 128, so
 * 6 × baseLr), spam task, 1,200 training rows, 2 epochs, validation accuracy at baseLr → 6 × baseLr: full 0.824 →
 * 0.963 (at 1/√width's 1.2e-4 0.953, at 1e-3 0.957, at the range test's 2.2e-3 0.948), last layers 0.894 → 0.959
 * (at 2e-3 0.959, at the range test's 9.5e-3 0.894), head 0.938 → 0.953, LoRA 0.953 → 0.959, IA3 0.950 → 0.965,
 * adapters 0.953 → 0.965, with a lower validation loss for all six. The prompt methods, which train what goes in
 * front of the text (virtual token embeddings, or their encoder), gained nothing clear at 6 × (prompt 0.953 → 0.951,
 * P-tuning 0.957 → 0.953, prefix 0.951 → 0.955: within 2 of 535 rows), so they keep baseLr. A range test by default
 * (--lr auto) was not chosen: its suggestions scored lower (above) and it costs up to 100 extra steps per run.
 * Wider models get less: Llama-7B's 4096 gives full 9.4e-6.
 */
export function defaultLr(method: Exclude<MethodName, "feature">, model: PreTrainedModel): number {
  const info = METHOD_INFO[method];
  if (!info.widthScaled) return info.baseLr;
  // Three significant digits are all a rate needs, and they keep metrics.json free of 6.000000000000001e-4.
  return Number((info.baseLr * Math.min(MAX_WIDTH_FACTOR, BASE_WIDTH / model.peftFacts().hiddenSize)).toPrecision(3));
}

export interface MethodOptions {
  /** last-layers: how many transformer blocks train (with the head). */
  layers?: number;
  loraR?: number;
  loraAlpha?: number;
  loraDropout?: number;
  /** LoRA and IA3 targets; default PEFT's per-model choice. */
  targetModules?: string[];
  numVirtualTokens?: number;
  /** Prompt tuning starts from this text's embeddings instead of random ones. */
  promptInitText?: string;
  encoderHiddenSize?: number;
  prefixProjection?: boolean;
  bottleneckSize?: number;
  pooling?: Pooling;
  classifier?: "logreg" | "mlp";
}

export const DEFAULT_LAST_LAYERS = 2;
export const DEFAULT_VIRTUAL_TOKENS = 20;

export interface MethodContext {
  task: Task;
  /** Recorded in adapter_config.json as base_model_name_or_path. */
  baseModel: string;
  tokenizer: PreTrainedTokenizer;
}

/** Makes `model` train the way `method` does: requiresGrad flags, or a PeftModel around it. */
export async function prepareMethod(
  model: PreTrainedModel, method: Exclude<MethodName, "feature">, opts: MethodOptions, ctx: MethodContext,
): Promise<PreTrainedModel | PeftModel> {
  switch (method) {
    case "head":
      trainLastLayers(model, 0);
      return model;
    case "last-layers":
      trainLastLayers(model, opts.layers ?? DEFAULT_LAST_LAYERS);
      return model;
    case "full":
      return unfreeze(model);
    default: {
      const options: TunerOptions = method === "prompt" && opts.promptInitText !== undefined
        ? { promptTuningInitTokenIds: await ctx.tokenizer.encode(opts.promptInitText) }
        : {};
      return getPeftModel(model, peftConfig(method, opts, ctx), options);
    }
  }
}

function peftConfig(method: "lora" | "prompt" | "p-tuning" | "prefix" | "ia3" | "adapter", o: MethodOptions, ctx: MethodContext): PeftConfig {
  const common = { taskType: (ctx.task === "seq-cls" ? "SEQ_CLS" : "CAUSAL_LM") as TaskType, baseModelNameOrPath: ctx.baseModel };
  const numVirtualTokens = o.numVirtualTokens ?? DEFAULT_VIRTUAL_TOKENS;
  switch (method) {
    case "lora":
      return new LoraConfig({ ...common, r: o.loraR ?? 8, loraAlpha: o.loraAlpha ?? 16, loraDropout: o.loraDropout ?? 0.1, targetModules: o.targetModules ?? null });
    case "prompt":
      return new PromptTuningConfig({
        ...common, numVirtualTokens,
        ...(o.promptInitText === undefined ? {} : { promptTuningInit: "TEXT", promptTuningInitText: o.promptInitText, tokenizerNameOrPath: ctx.baseModel }),
      });
    case "p-tuning":
      return new PromptEncoderConfig({ ...common, numVirtualTokens, encoderHiddenSize: o.encoderHiddenSize ?? null });
    case "prefix":
      return new PrefixTuningConfig({ ...common, numVirtualTokens, prefixProjection: o.prefixProjection ?? false, encoderHiddenSize: o.encoderHiddenSize ?? null });
    case "ia3":
      return new IA3Config({ ...common, targetModules: o.targetModules ?? null });
    case "adapter":
      return new AdapterConfig({ ...common, bottleneckSize: o.bottleneckSize ?? 64 });
  }
}

// The fine-tuning methods by CLI name, and the one place each is set up on a freshly loaded model; `train`
// and `compare` both go through prepareMethod, so a method means the same thing in both. Feature-based training and
// the layer methods are the CLI's own; the PEFT methods, their options and defaults come from their registrations
// (src/peft/registry.ts), so a method registered at run time (before main() runs) is offered like the built-in ones.
import { trainLastLayers, unfreeze, type Pooling } from "../methods/index.js";
import type { PreTrainedModel } from "../models/index.js";
import { getPeftModel, peftMethods, type PeftMethod, type PeftMethodCli, type PeftModel, type TunerOptions } from "../peft/index.js";
import type { PreTrainedTokenizer } from "../tokenizers/index.js";
import { UsageError } from "./command.js";

const OWN_METHODS = ["feature", "head", "last-layers", "full"] as const;
/** A --method name: feature, head, last-layers, full, or a registered PEFT method's name. */
export type MethodName = string;
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
}

const OWN_INFO: Record<(typeof OWN_METHODS)[number], MethodInfo> = {
  feature: { label: "feature-based", category: "feature-based", baseLr: 0, widthScaled: false },
  head: { label: "head only", category: "layer fine-tuning", baseLr: 1e-3, widthScaled: true },
  "last-layers": { label: "last layers", category: "layer fine-tuning", baseLr: 1e-4, widthScaled: true },
  full: { label: "full", category: "layer fine-tuning", baseLr: 5e-5, widthScaled: true },
};

/** A registered PEFT method the command line offers. */
export type CliPeftMethod = PeftMethod & { cli: PeftMethodCli<never> };

/** The PEFT methods with a command-line name, in registration order. */
export function cliPeftMethods(): CliPeftMethod[] {
  return peftMethods().filter((m): m is CliPeftMethod => m.cli !== undefined);
}

/** Every --method name: the CLI's own, then the PEFT methods in registration order. */
export function methodNames(): MethodName[] {
  return [...OWN_METHODS, ...cliPeftMethods().map((m) => m.cli.name)];
}

/** The method's facts for a run with these options (its rate may depend on them). */
export function methodInfo(method: MethodName, opts: MethodOptions = {}): MethodInfo {
  if (method in OWN_INFO) return OWN_INFO[method as keyof typeof OWN_INFO];
  const cli = cliPeftMethod(method).cli;
  const baseLr = typeof cli.baseLr === "number" ? cli.baseLr : cli.baseLr(commandLineFields(cli, opts));
  return { label: cli.label, category: "parameter-efficient", baseLr, widthScaled: cli.widthScaled };
}

function cliPeftMethod(method: MethodName): CliPeftMethod {
  const m = cliPeftMethods().find((x) => x.cli.name === method);
  if (!m) throw new UsageError(`unknown method "${method}" (choose from ${methodNames().join(", ")})`);
  return m;
}

/** "LoRA and IA3": the labels of the PEFT methods whose adapters fold into the base weights (merge, export). */
export function mergeableLabels(conjunction: "and" | "or" | "/"): string {
  const labels = peftMethods().filter((m) => m.mergeable).map((m) => m.cli?.label ?? m.peftType);
  if (conjunction === "/" || labels.length < 2) return labels.join("/");
  return `${labels.slice(0, -1).join(", ")} ${conjunction} ${labels.at(-1)}`;
}

/** The width the baseLr values are usual at: BERT-base, DistilBERT, GPT-2 small. */
const BASE_WIDTH = 768;
/** The most a narrow model's rate is raised over baseLr: beyond ten times, extrapolating from base-sized models
 *  is a guess (--lr auto measures instead). */
const MAX_WIDTH_FACTOR = 10;

/**
 * The learning rate when --lr is not given: baseLr, times 768 / hidden size (capped at 10) for the methods that
 * train weights inside the network (the head, last layers, full, LoRA, IA3, adapters). Under Adam the best rate of
 * a weight matrix falls as 1/fan-in (the muP scaling, Yang et al. 2022, "Tensor Programs V"), so the usual rates,
 * found on base-sized models, are too small for narrow ones. Measured on the previous bundled model (hidden size 128, so
 * 6 × baseLr), spam task, 1,200 training rows, 2 epochs, validation accuracy at baseLr → 6 × baseLr: full 0.824 →
 * 0.963 (at 1/√width's 1.2e-4 0.953, at 1e-3 0.957, at the range test's 2.2e-3 0.948), last layers 0.894 → 0.959
 * (at 2e-3 0.959, at the range test's 9.5e-3 0.894), head 0.938 → 0.953, LoRA 0.953 → 0.959, IA3 0.950 → 0.965,
 * adapters 0.953 → 0.965, with a lower validation loss for all six. The prompt methods, which train what goes in
 * front of the text (virtual token embeddings, or their encoder), gained nothing clear at 6 × (prompt 0.953 → 0.951,
 * P-tuning 0.957 → 0.953, prefix 0.951 → 0.955: within 2 of 535 rows), so they keep baseLr. A range test by default
 * (--lr auto) was not chosen: its suggestions scored lower (above) and it costs up to 100 extra steps per run.
 * Wider models get less: Llama-7B's 4096 gives full 9.4e-6.
 */
export function defaultLr(method: MethodName, model: PreTrainedModel, opts: MethodOptions = {}): number {
  const info = methodInfo(method, opts);
  if (!info.widthScaled) return info.baseLr;
  // Three significant digits are all a rate needs, and they keep metrics.json free of 6.000000000000001e-4.
  return Number((info.baseLr * Math.min(MAX_WIDTH_FACTOR, BASE_WIDTH / model.peftFacts().hiddenSize)).toPrecision(3));
}

/** The method options of a run (finetune.json and compare's report keep them): last-layers' and feature-based
 *  training's, and the registered PEFT methods' flags by their camelCase names. */
export interface MethodOptions {
  /** last-layers: how many transformer blocks train (with the head). */
  layers?: number;
  pooling?: Pooling;
  classifier?: "logreg" | "mlp";
  [peftFlag: string]: unknown;
}

export const DEFAULT_LAST_LAYERS = 2;

export interface MethodContext {
  task: Task;
  /** Recorded in adapter_config.json as base_model_name_or_path. */
  baseModel: string;
  tokenizer: PreTrainedTokenizer;
}

/** Makes `model` train the way `method` does: requiresGrad flags, or a PeftModel around it. */
export async function prepareMethod(model: PreTrainedModel, method: MethodName, opts: MethodOptions, ctx: MethodContext): Promise<PreTrainedModel | PeftModel> {
  switch (method) {
    case "head":
      trainLastLayers(model, 0);
      return model;
    case "last-layers":
      trainLastLayers(model, opts.layers ?? DEFAULT_LAST_LAYERS);
      return model;
    case "full":
      return unfreeze(model);
    case "feature":
      throw new Error("feature-based training fits a classifier on the frozen model; it has no trainable set-up");
    default: {
      const { config, tunerOptions } = await peftSetup(cliPeftMethod(method), opts, ctx);
      return getPeftModel(model, config, tunerOptions);
    }
  }
}

/** The config fields the command line sets: the method's defaults, then the flags given that set a field directly. */
function commandLineFields(cli: CliPeftMethod["cli"], opts: MethodOptions): Record<string, unknown> {
  const fields: Record<string, unknown> = { ...cli.defaults };
  for (const [key, flag] of Object.entries(cli.flags)) if (opts[key] !== undefined && !flag.apply) fields[flag.field ?? key] = opts[key];
  return fields;
}

/** The method's config from its defaults and the flags given, as its registration declares them. */
async function peftSetup(m: CliPeftMethod, opts: MethodOptions, ctx: MethodContext) {
  const fields: Record<string, unknown> = { taskType: ctx.task === "seq-cls" ? "SEQ_CLS" : "CAUSAL_LM", baseModelNameOrPath: ctx.baseModel, ...commandLineFields(m.cli, opts) };
  let tunerOptions: TunerOptions = {};
  const cliContext = { task: ctx.task, baseModel: ctx.baseModel, encode: (text: string) => ctx.tokenizer.encode(text) };
  for (const [key, flag] of Object.entries(m.cli.flags)) {
    const value = opts[key];
    if (value === undefined || !flag.apply) continue;
    const setup = await flag.apply(value as never, cliContext);
    Object.assign(fields, setup.fields);
    tunerOptions = { ...tunerOptions, ...setup.tunerOptions };
  }
  return { config: new m.config(fields), tunerOptions };
}

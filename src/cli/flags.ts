// Flag groups shared by several commands, and their translation into the pipeline's settings.
import { BUNDLED_MODELS, BUNDLED_PREFIX, BUNDLED_TASKS } from "../bundled/index.js";
import { POOLINGS } from "../methods/features/pooling.js";
import { MAX_RECORD_CHARS } from "../data/line-reader.js";
import type { PeftCliFlag } from "../peft/index.js";
import { booleanFlag, choiceFlag, kebab, listFlag, numberFlag, stringFlag, type Flag, type FlagTable, type FlagValues } from "./args.js";
import { UsageError } from "./command.js";
import { configFlag } from "./config-file.js";
import { DEFAULT_LAST_LAYERS, cliPeftMethods, type MethodOptions } from "./methods.js";
import { DEFAULT_HYPERPARAMETERS as D, type Hyperparameters } from "./pipeline/fine-tune.js";
import type { LearningRate } from "../train/lr-finder.js";
import type { HubOptions } from "../io/hub.js";
import type { TextGenerationOptions } from "./pipeline/generation.js";

export const BASE_DTYPES = ["fp32", "bf16"] as const;

/** "bundled:a / bundled:b (seq-cls), bundled:c (causal-lm)" */
function bundledTaskList(): string {
  const kinds = [...new Set(Object.values(BUNDLED_TASKS).map((t) => t.task))];
  return kinds.map((k) => `${Object.entries(BUNDLED_TASKS).filter(([, t]) => t.task === k).map(([n]) => BUNDLED_PREFIX + n).join(" / ")} (${k})`).join(", ");
}

export const modelFlags = {
  model: stringFlag(`pretrained model: a local folder, a Hugging Face Hub id, or ${Object.keys(BUNDLED_MODELS).join(" / ")} (ship with finetune-ts)`, { arg: "ID|DIR" }),
  revision: stringFlag("hub branch, tag or commit (default main)", { arg: "REV" }),
  cacheDir: stringFlag("hub cache folder (default $HF_HUB_CACHE or ~/.cache/huggingface/hub)", { arg: "DIR" }),
  tokenizer: stringFlag("tokenizer folder, when the model folder has none", { arg: "DIR" }),
  baseDtype: choiceFlag("frozen base-model weights in fp32 (default) or bf16: half the memory, bf16 products; trained weights stay fp32", BASE_DTYPES, { arg: "DTYPE" }),
};

export const taskFlag = { task: choiceFlag("seq-cls or causal-lm (default: from the model's config.json)", ["seq-cls", "causal-lm"] as const, { arg: "TASK" }) };

/** Bounds the memory one line or row of a data file can take before it is refused (the library's maxRecordChars). */
export const maxRecordCharsFlag = {
  maxRecordChars: numberFlag(`the longest JSONL line, CSV/TSV record or Parquet row accepted, in characters; a JSON array file may hold this many in all (default ${MAX_RECORD_CHARS})`, { arg: "N", integer: true, min: 1 }),
};

export const columnFlags = {
  textColumn: stringFlag("column holding the text (default text)", { arg: "NAME" }),
  textPairColumn: stringFlag("column holding a second text, for pair classification", { arg: "NAME" }),
  labelColumn: stringFlag("column holding the label (default label)", { arg: "NAME" }),
  promptColumn: stringFlag("causal-lm: prompt column of prompt/completion rows (default prompt)", { arg: "NAME" }),
  completionColumn: stringFlag("causal-lm: completion column (default completion); loss is on it only", { arg: "NAME" }),
  maxRows: numberFlag("use at most N rows of each split, sampled with --seed (for quick runs)", { integer: true, min: 1 }),
  ...maxRecordCharsFlag,
};

export const dataFlags = {
  train: stringFlag("training file (.jsonl, .json, .csv, .tsv or .parquet)", { arg: "FILE" }),
  validation: stringFlag("validation file", { arg: "FILE" }),
  test: stringFlag("test file", { arg: "FILE" }),
  data: stringFlag("one file to split into train/validation/test with --seed", { arg: "FILE" }),
  dataset: stringFlag(`a Hugging Face Hub classification dataset, e.g. stanfordnlp/imdb, or a task that ships with finetune-ts: ${bundledTaskList()}`, { arg: "ID" }),
  datasetConfig: stringFlag("the hub dataset's config (subset), when it has several", { arg: "NAME" }),
  validationSplit: numberFlag("validation share (0-1) or row count taken from --data (default 0.1), or from a --dataset without one", { min: 0 }),
  testSplit: numberFlag("test share (0-1) or row count, as --validation-split", { min: 0 }),
  ...columnFlags,
  labelNames: listFlag("class names in id order; string labels map through them", { arg: "A,B,..." }),
};

/** The method options: last-layers' and feature-based training's own, and between them every registered PEFT
 *  method's, in registration order. Built when asked for, so methods registered before main() runs are included. */
export function methodOptionFlags(): typeof ownMethodFlags & FlagTable {
  const { layers, ...featureFlags } = ownMethodFlags;
  return { layers, ...peftFlags(), ...featureFlags };
}

const ownMethodFlags = {
  layers: numberFlag(`last-layers: transformer blocks to train, with the head (default ${DEFAULT_LAST_LAYERS})`, { integer: true, min: 0 }),
  pooling: choiceFlag("feature: cls, mean or last (default: the better on held-out rows of mean and the model's usual one, cls for encoders, last for decoders such as GPT-2 and Llama)", POOLINGS, { arg: "P" }),
  classifier: choiceFlag("feature: logreg (its L2 strength C picked on held-out rows) or mlp (default logreg)", ["logreg", "mlp"] as const, { arg: "C" }),
};

/** One flag per option name, its help prefixed with the methods that take it ("lora, ia3: ..."), and the default
 *  a run uses when it is numeric. Methods sharing an option name must share its definition and default. */
function peftFlags(): Record<string, Flag<unknown>> {
  const options = new Map<string, { flag: PeftCliFlag; methods: string[]; default: unknown }>();
  for (const m of cliPeftMethods()) {
    for (const [key, flag] of Object.entries(m.cli.flags)) {
      const field = flag.field ?? key;
      const given = flag.apply ? undefined : ((m.cli.defaults ?? {}) as Record<string, unknown>)[field] ?? m.config.fields[field]?.default;
      const seen = options.get(key);
      if (!seen) options.set(key, { flag, methods: [m.cli.name], default: given });
      else if (seen.flag === flag && seen.default === given) seen.methods.push(m.cli.name);
      else throw new Error(`--${kebab(key)} means something different for ${seen.methods[0]} and ${m.cli.name}: methods that share an option share its definition and default`);
    }
  }
  return Object.fromEntries([...options].map(([key, o]) => {
    const help = `${o.methods.join(", ")}: ${o.flag.help}${["number", "boolean"].includes(typeof o.default) ? ` (default ${o.default})` : ""}`;
    return [key, peftFlag(o.flag, help)];
  }));
}

function peftFlag(f: PeftCliFlag, help: string): Flag<unknown> {
  switch (f.kind) {
    case "int":
    case "float":
      return numberFlag(help, { arg: f.arg, integer: f.kind === "int", min: f.min, max: f.max });
    case "string":
      return stringFlag(help, { arg: f.arg });
    case "bool":
      return booleanFlag(help);
    case "list":
      return listFlag(help, { arg: f.arg });
  }
}

/** A learning rate, or "auto": a range test (lrFind) picks it before training. */
export function lrFlag(help: string): Flag<LearningRate> {
  const rate = numberFlag(help, { arg: "LR|auto", min: 0 });
  return {
    ...rate,
    read(value, name) {
      if (value === "auto") return "auto";
      try {
        return rate.read(value, name);
      } catch {
        throw new UsageError(`${name} must be a number >= 0 or auto, got ${JSON.stringify(value)}`);
      }
    },
  };
}

export const hyperparameterFlags = {
  epochs: numberFlag("training epochs (default 3 unless --max-steps is given)", { min: 0 }),
  maxSteps: numberFlag("stop after N optimizer steps", { integer: true, min: 1 }),
  batchSize: numberFlag(`examples per batch (default ${D.batchSize})`, { integer: true, min: 1 }),
  lr: lrFlag("peak learning rate, or auto to pick it with a range test (default: the method's usual one for the model's width)"),
  weightDecay: numberFlag("AdamW weight decay (default 0)", { min: 0 }),
  warmupRatio: numberFlag("share of steps spent warming up (default 0)", { min: 0, max: 1 }),
  gradAccum: numberFlag("batches per optimizer step (default 1)", { integer: true, min: 1 }),
  maxLength: numberFlag(`truncate texts to N tokens (default ${D.maxLength})`, { integer: true, min: 2 }),
  seed: numberFlag(`random seed for init, shuffling, dropout and --data splits (default ${D.seed})`, { integer: true }),
  clip: numberFlag("clip the gradient norm to this value", { arg: "NORM", min: 0 }),
  gradientCheckpointing: booleanFlag("recompute each block's activations in backward instead of keeping them: less memory, one more forward per step"),
};

/** A chat template from a file, for train, eval, generate and chat. */
export const chatTemplateFlag = {
  chatTemplate: stringFlag("a Jinja chat template file instead of the tokenizer's own (saved with the output)", { arg: "FILE" }),
};

/** Instruction tuning: conversations and packing (train). */
export const instructionFlags = {
  ...chatTemplateFlag,
  trainOnPrompt: booleanFlag("causal-lm: loss on prompts and every conversation turn too, not only completions and assistant turns"),
  packing: booleanFlag("causal-lm: pack examples into rows of --max-length tokens, each attending only to itself"),
};

/** Decoding for generate and chat. */
export const generationFlags = {
  maxNewTokens: numberFlag("tokens to generate at most (default 50)", { integer: true, min: 0 }),
  doSample: booleanFlag("sample instead of taking the most likely token"),
  temperature: numberFlag("sampling: divide the logits by T (default 1)", { arg: "T", min: 0 }),
  topK: numberFlag("sampling: keep the K most likely tokens, 0 for all (default 50)", { arg: "K", integer: true, min: 0 }),
  topP: numberFlag("sampling: keep the most likely tokens up to probability P (default 1)", { arg: "P", min: 0, max: 1 }),
  minP: numberFlag("sampling: drop tokens less likely than P times the most likely one (default off)", { arg: "P", min: 0, max: 1 }),
  repetitionPenalty: numberFlag("tokens already in the text: positive scores / R, negative ones * R (default 1)", { arg: "R", min: 0 }),
  stop: listFlag("stop at this text, left out of the output; repeat for more (\\n, \\t understood)", { arg: "TEXT", split: false }),
  seed: numberFlag("sampling seed: the same seed gives the same text", { integer: true }),
};

/** How eval, predict and generate find a trained result. */
export const loadFlags = {
  ...modelFlags,
  model: stringFlag("a trained output folder, a model folder or hub id, or an adapter folder", { arg: "DIR|ID" }),
  adapter: stringFlag("an adapter folder to put on --model", { arg: "DIR" }),
  baseModel: stringFlag("base model of an adapter or feature-based output (default: the one it records)", { arg: "ID|DIR" }),
  batchSize: numberFlag("texts per forward pass (default 32)", { integer: true, min: 1 }),
  maxLength: numberFlag("truncate texts to N tokens (default: the length it was trained with)", { integer: true, min: 2 }),
};

export const overwriteFlag = {
  overwrite: booleanFlag("replace whatever --output holds (by default only an empty folder or an earlier output of the same command is written to)"),
};

/** The flags of a fine-tuning run (train, compare). A PEFT option may not take the name of another flag. */
export function runFlags(): typeof ownRunFlags & ReturnType<typeof methodOptionFlags> {
  const methodFlags = methodOptionFlags();
  const clash = Object.keys(methodFlags).find((k) => k in ownRunFlags);
  if (clash) throw new Error(`a PEFT method's option --${kebab(clash)} clashes with a flag of the same name`);
  return { ...modelFlags, ...taskFlag, ...dataFlags, ...methodFlags, ...hyperparameterFlags, output: ownRunFlags.output, config: ownRunFlags.config };
}

const ownRunFlags = {
  ...modelFlags, ...taskFlag, ...dataFlags, ...hyperparameterFlags,
  output: stringFlag("folder for the results", { arg: "DIR" }),
  config: configFlag,
};

type RunValues = FlagValues<ReturnType<typeof runFlags>>;

export function hubOptions(v: FlagValues<typeof modelFlags>): HubOptions {
  return { revision: v.revision, cacheDir: v.cacheDir };
}

export function methodOptions(v: RunValues): MethodOptions {
  return Object.fromEntries(Object.keys(methodOptionFlags()).map((k) => [k, v[k]]));
}

export function hyperparameters(v: RunValues): Hyperparameters {
  return {
    epochs: v.epochs, maxSteps: v.maxSteps, lr: v.lr, clip: v.clip, gradientCheckpointing: v.gradientCheckpointing,
    batchSize: v.batchSize ?? D.batchSize, weightDecay: v.weightDecay ?? D.weightDecay, warmupRatio: v.warmupRatio ?? D.warmupRatio,
    gradAccum: v.gradAccum ?? D.gradAccum, maxLength: v.maxLength ?? D.maxLength, seed: v.seed ?? D.seed,
  };
}

export function generationOptions(v: FlagValues<typeof generationFlags>, maxNewTokens: number): TextGenerationOptions {
  const { doSample, temperature, topK, topP, minP, repetitionPenalty, stop, seed } = v;
  return { maxNewTokens: v.maxNewTokens ?? maxNewTokens, doSample, temperature, topK, topP, minP, repetitionPenalty, stop: stop?.map(unescape), seed };
}

/** "\n" typed on a command line is two characters; stop strings are usually newlines. */
function unescape(s: string): string {
  return s.replace(/\\([nt\\])/g, (_, c: string) => (c === "n" ? "\n" : c === "t" ? "\t" : "\\"));
}

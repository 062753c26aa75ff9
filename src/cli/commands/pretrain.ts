import { readFile } from "node:fs/promises";
import { formatCount, formatSeconds } from "../../report/format.js";
import { architectures, pretrain as runPretraining, type FreshModelSpec, type PretrainedModelSpec } from "../../pretrain/index.js";
import { booleanFlag, choiceFlag, flagHelp, numberFlag, stringFlag, type FlagValues } from "../args.js";
import { Interrupted, UsageError, type Command } from "../command.js";
import { configFlag, parseWithConfig } from "../config-file.js";
import { hubOptions, modelFlags, overwriteFlag } from "../flags.js";
import { noteOnce } from "../output.js";
import { prepareOutput } from "../pipeline/output-dir.js";
import { isDirectory, modelRef } from "../pipeline/sources.js";

const SCHEDULES = ["linear", "cosine", "constant"] as const;
const int = (help: string, min = 1) => numberFlag(help, { integer: true, min });
const ARCHS = architectures();
const either = (names: string[]) => names.length > 1 ? `${names.slice(0, -1).join(", ")} or ${names.at(-1)}` : names.join("");

const flags = {
  model: stringFlag("pretrain this model further (a folder, hub id, or bundled) with its own tokenizer, instead of a fresh one", { arg: "ID|DIR" }),
  revision: modelFlags.revision,
  cacheDir: modelFlags.cacheDir,
  arch: choiceFlag(`${either(ARCHS.mlm)} (masked LM, WordPiece), ${either(ARCHS.clm)} (next token, byte-level BPE); default distilbert`,
    [...ARCHS.mlm, ...ARCHS.clm], { arg: "ARCH" }),
  bundled: booleanFlag("pretrain on the bundled corpus (State of the Union addresses, Moby Dick, the Brown Corpus, nlp-corpus's web sentences, WordNet's definitions and examples, the spam and sentiment tasks' training text) instead of files"),
  vocabSize: int("tokenizer vocabulary, special tokens included (default 8192)", 16),
  tokenizer: stringFlag("use this tokenizer folder instead of training one on the text", { arg: "DIR" }),
  specialTokens: stringFlag("comma-separated special tokens the trained tokenizer adds after the architecture's own, e.g. a chat template's <|im_start|>,<|im_end|>", { arg: "LIST" }),
  chatTemplate: stringFlag("a Jinja chat template file for the trained tokenizer (tokenizer_config.json); documents that are conversations (the bundled corpus's WordNet part) are then pretrained rendered with it", { arg: "FILE" }),
  dim: int("hidden size (default 128)"),
  layers: int("transformer layers (default 4)"),
  heads: int("attention heads; must divide --dim (default 4)"),
  kvHeads: int("key/value heads (grouped-query attention, Llama-family and Gemma); must divide --heads (default --heads)"),
  hiddenDim: int("feed-forward size (default 4 x --dim)"),
  dropout: numberFlag("every dropout probability of the model (default: the architecture's, 0.1; 0 learns faster on a short budget)", { arg: "P", min: 0, max: 0.9 }),
  maxLength: int("tokens per training block, and the model's longest input (default 128)", 8),
  maxSteps: int("optimizer steps (default: --epochs, else 1000)"),
  epochs: numberFlag("passes over the text (instead of --max-steps)", { min: 0 }),
  maxMinutes: numberFlag("stop after this much training time, with a checkpoint (the schedule still spans --max-steps)", { arg: "MIN", min: 0 }),
  batchSize: int("blocks per step (default 32)"),
  lr: numberFlag("peak learning rate (default 5e-4)", { arg: "LR", min: 0 }),
  warmupSteps: int("steps of linear warm-up (default 5% of the steps)", 0),
  schedule: choiceFlag("decay after warm-up: linear, cosine or constant (default linear)", SCHEDULES, { arg: "NAME" }),
  weightDecay: numberFlag("AdamW weight decay (default 0.01)", { min: 0 }),
  mlmProbability: numberFlag("share of tokens masked (default 0.15)", { arg: "P", min: 0.01, max: 0.99 }),
  distillVectors: stringFlag("masked LM: a GloVe-format word-vector file (\"word v1 v2 ...\" per line); the last hidden states also learn to carry each word's vector, and position 0 ([CLS]) the mean vector of its row (a block, or a sentence with --sentence-fraction)", { arg: "FILE" }),
  distillWeight: numberFlag("weight of each distillation loss (--distill-vectors, --distill-sentences) beside the masked-LM loss (default 1)", { min: 0 }),
  initEmbeddingsFromVectors: booleanFlag("with --distill-vectors: first set the first coordinates of each word's input embedding to its vector (scaled to the embeddings' norm), so rare words start from it"),
  distillSentences: stringFlag("masked LM, with --sentence-fraction: JSON lines {\"text\": sentence, \"vector\": [...]} of a teacher sentence encoder; the single-sentence rows are these sentences, and each row's [CLS] state also learns to carry its vector (in the coordinates after --distill-vectors' ones), at --distill-weight", { arg: "FILE" }),
  sentenceFraction: numberFlag("masked LM: this share of the training rows are single sentences ([CLS] sentence [SEP], padded), as a sentence classifier reads them, beside the packed blocks (default 0)", { arg: "P", min: 0, max: 0.9 }),
  logEvery: int("write train_loss, lr and elapsed time to <output>/metrics.csv every N steps (default 10)"),
  valEvery: int("held-out loss and a checkpoint every N steps (default 100)", 2),
  checkpointDir: stringFlag("where checkpoints go (default <output>/checkpoints)", { arg: "DIR" }),
  resume: booleanFlag("continue from <checkpoint-dir>/last with the tokenizer saved in --output (give the same flags)"),
  dtype: choiceFlag("weights precision on disk: float32 or float16 (default float32)", ["float32", "float16"] as const, { arg: "DTYPE" }),
  seed: int("seed for initialisation, data order and masking (default 42)", 0),
  output: stringFlag("folder for the model (config.json, model.safetensors, tokenizer files, metrics.csv)", { arg: "DIR" }),
  ...overwriteFlag,
  config: configFlag,
};

export const pretrain: Command = {
  name: "pretrain",
  summary: "pretrain a model from scratch, or further on your text (masked LM or next token)",
  help: `Usage: finetune pretrain (--bundled | FILE...) --output DIR [--model ID|DIR] [options]

Trains a tokenizer on the text (WordPiece for distilbert/bert, byte-level BPE for gpt2/llama), packs the
text into blocks of --max-length tokens, and pretrains a randomly initialised model on them: masked-LM
(15% of tokens chosen, 80% replaced by [MASK], 10% by a random token, 10% kept) or next-token prediction.
With --model, an existing model is pretrained further on the text instead (domain-adaptive pretraining),
with its own tokenizer and size: masked LM for DistilBERT/BERT, next token for GPT-2/Llama.
Text files are read one document per line. About 2% of the documents are held out for val_loss. The
learning rate warms up, then decays (--schedule). Writes a Hugging Face model folder to --output
(config.json, model.safetensors, tokenizer.json, tokenizer_config.json), plus metrics.csv (step,
elapsed_s, lr, train_loss, val_loss) and checkpoints/last, from which --resume continues. Ctrl-C stops
after the current step and saves a checkpoint.

Options:
${flagHelp(flags)}

Examples:
  finetune pretrain --bundled --dim 128 --layers 4 --heads 4 --max-steps 2000 --output models/tiny
  finetune pretrain notes/*.txt --arch gpt2 --dim 256 --layers 6 --heads 8 --epochs 1 --output models/gpt
  finetune pretrain --bundled --max-steps 2000 --output models/tiny --resume
  finetune pretrain reviews.txt --model distilbert-base-uncased --lr 5e-5 --epochs 1 --output models/distilbert-reviews`,

  async run(argv) {
    const { values: v, positionals: files } = await parseWithConfig(argv, flags, { positionals: true });
    if (!v.output) throw new UsageError("--output is required (the folder for the pretrained model)");
    if (Boolean(v.bundled) === files.length > 0) throw new UsageError("give text files or --bundled (one of the two)");
    if (v.resume && v.overwrite) throw new UsageError("--resume continues what --output holds and --overwrite deletes it; give one of the two");
    const model = v.model !== undefined && (await isDirectory(await modelRef(v.model))) ? await modelRef(v.model) : undefined;
    const lock = await prepareOutput(v.output, { kind: "pretrain", overwrite: v.overwrite, inputs: [model, v.tokenizer, v.chatTemplate, v.distillVectors, v.distillSentences, ...files] });
    try {
      await pretrainInto(v, files, v.output);
    } finally {
      await lock.release();
    }
  },
};

type Values = FlagValues<typeof flags>;

async function pretrainInto(v: Values, files: string[], output: string): Promise<void> {
  const result = await runPretraining({
    model: v.model !== undefined ? await existingModelSpec(v) : await freshModelSpec(v),
    corpus: v.bundled ? "bundled" : { files },
    maxLength: v.maxLength ?? 128,
    output,
    checkpointDir: v.checkpointDir,
    batchSize: v.batchSize ?? 32,
    maxSteps: v.maxSteps ?? (v.epochs === undefined ? 1000 : undefined),
    epochs: v.epochs,
    maxMinutes: v.maxMinutes,
    lr: v.lr ?? 5e-4,
    weightDecay: v.weightDecay,
    warmupSteps: v.warmupSteps,
    warmupRatio: v.warmupSteps === undefined ? 0.05 : undefined,
    schedule: v.schedule,
    mlmProbability: v.mlmProbability,
    distillVectors: v.distillVectors,
    distillWeight: v.distillWeight,
    initEmbeddingsFromVectors: v.initEmbeddingsFromVectors,
    sentenceFraction: v.sentenceFraction,
    distillSentences: v.distillSentences,
    logEvery: v.logEvery,
    valEvery: v.valEvery,
    resume: v.resume,
    seed: v.seed,
    dtype: v.dtype,
  });
  if (result.finalValLoss === null) throw new Interrupted(`interrupted at step ${result.globalStep}; continue with the same command and --resume`);
  const what = result.objective === "mlm" ? "masked-LM" : "next-token";
  console.log(`pretrained ${v.model ?? v.arch ?? "distilbert"} (${formatCount(result.parameters)} parameters) for ${result.globalStep} steps, ` +
    `${formatCount(result.tokensSeen)} tokens, in ${formatSeconds(result.elapsedSeconds)}`);
  console.log(`held-out ${what} loss ${result.finalValLoss.toFixed(4)}; saved to ${result.output}`);
}

/** The flags that shape a fresh model; an existing model brings its own. */
const FRESH_ONLY = ["arch", "vocabSize", "tokenizer", "specialTokens", "chatTemplate", "dim", "layers", "heads", "kvHeads", "hiddenDim", "dropout"] as const;

async function freshModelSpec(v: Values): Promise<FreshModelSpec> {
  return {
    arch: v.arch ?? "distilbert",
    size: { dim: v.dim ?? 128, layers: v.layers ?? 4, heads: v.heads ?? 4, kvHeads: v.kvHeads, hiddenDim: v.hiddenDim, dropout: v.dropout },
    vocabSize: v.vocabSize ?? 8192,
    tokenizer: v.tokenizer,
    additionalSpecialTokens: v.specialTokens?.split(",").map((t) => t.trim()).filter(Boolean),
    chatTemplate: v.chatTemplate === undefined ? undefined : await readFile(v.chatTemplate, "utf8").catch((e: Error) => {
      throw new UsageError(`--chat-template ${v.chatTemplate}: ${e.message}`);
    }),
  };
}

async function existingModelSpec(v: Values): Promise<PretrainedModelSpec> {
  const given = FRESH_ONLY.find((k) => v[k] !== undefined);
  if (given) throw new UsageError(`--${given.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} shapes a fresh model; --model brings its own architecture, size and tokenizer`);
  return { from: await modelRef(v.model!), hub: hubOptions(v), onWarning: noteOnce() };
}

// Pretraining: the text packed into blocks and the Trainer with periodic checkpoints (resumable), validation
// on held-out text and a CSV of the losses. The model is either fresh, with a tokenizer trained on the text
// (WordPiece for the masked-LM encoders, byte-level BPE for the causal LMs), or an existing model with its own
// tokenizer, pretrained further on the text (domain-adaptive pretraining). The output folder is a Hugging
// Face model folder: config.json, model.safetensors, tokenizer.json, tokenizer_config.json, replaced as one set
// (src/io/file-set.ts) so that a kill never leaves a new config beside an old model.
import { createHash } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { replaceFileSet } from "../io/file-set.js";
import { exists } from "../io/exists.js";
import { join } from "node:path";
import { DataLoader, type Loader } from "../data/dataloader.js";
import type { Batch } from "../data/collate.js";
import { bundledCorpus, type CorpusDocument } from "../bundled/corpus.js";
import { buildPretrained, readConfigJson } from "../models/loading.js";
import type { PreTrainedModel } from "../models/pretrained.js";
import { familyForConfig } from "../models/registry.js";
import type { HubOptions } from "../io/hub.js";
import type { ScheduleName } from "../optim/index.js";
import { manualSeed } from "../tensor/index.js";
import { TOKENIZER_FILES, tokenizerFolder } from "../tokenizers/folder.js";
import { AutoTokenizer, trainByteLevelBpeTokenizer, trainWordPieceTokenizer, type PreTrainedTokenizer } from "../tokenizers/index.js";
import { CausalLMModule } from "../train/causal-lm-module.js";
import { LAST_NAME, ModelCheckpoint } from "../train/callbacks/model-checkpoint.js";
import type { Metrics, TrainingModule } from "../train/module.js";
import { Trainer, type StopReason } from "../train/trainer.js";
import { documentSentences, packBlocks, seededDraw, sentenceRows } from "./blocks.js";
import { MaskedBlockLoader } from "./loader.js";
import { MaskedLMModule, type Distillation, type MaskedLanguageModel } from "./masked-lm-module.js";
import { freshModel, objectiveOf, pretrainingHead, type Architecture, type ModelSize, type Objective } from "./models.js";
import { PRETRAIN_FILES, type SaveDtype } from "./save.js";
import { StepCsvLogger } from "./step-csv-logger.js";
import { readSentenceVectors, type SentenceVectors } from "./sentence-vectors.js";
import { initEmbeddingsFromVectors, readWordVectorTargets } from "./word-vectors.js";
import { WallClock } from "./wall-clock.js";

/** A randomly initialised model of this architecture and size. */
export interface FreshModelSpec {
  arch: Architecture;
  size: ModelSize;
  /** Including special tokens; the size of the tokenizer trained on the text. */
  vocabSize: number;
  /** A tokenizer folder to use instead of training one (its vocabulary size then rules). */
  tokenizer?: string;
  /** Special tokens the trained tokenizer adds after the architecture's own (a chat template's markers). */
  additionalSpecialTokens?: string[];
  /** A Jinja chat template for the trained tokenizer (saved in tokenizer_config.json). */
  chatTemplate?: string;
}

/** An existing model (folder or hub id) with its tokenizer: masked LM if its family has one, else next token. */
export interface PretrainedModelSpec {
  from: string;
  hub?: HubOptions;
  onWarning?: (message: string) => void;
}

export interface PretrainOptions {
  model: FreshModelSpec | PretrainedModelSpec;
  /** Plain-text files (one document per line, as HF's text datasets read them), or the bundled corpus. */
  corpus: { files: string[] } | "bundled";
  /** Tokens per training block; a fresh model's longest input too. */
  maxLength: number;
  output: string;
  /** Default <output>/checkpoints. */
  checkpointDir?: string;
  batchSize: number;
  maxSteps?: number;
  epochs?: number;
  /** Stop (with a checkpoint) after this much training time; the schedule still spans maxSteps/epochs. */
  maxMinutes?: number;
  lr: number;
  weightDecay?: number;
  warmupSteps?: number;
  warmupRatio?: number;
  schedule?: ScheduleName;
  gradientClip?: number;
  mlmProbability?: number;
  /** Masked-LM only: a GloVe-format word-vector file whose vectors the encoder's last hidden states also learn
   *  to carry (./word-vectors.ts), and that loss's weight beside masked-LM's (default 1). */
  distillVectors?: string;
  distillWeight?: number;
  /** With distillVectors: before the first step, the first k coordinates of each covered word's input embedding
   *  are set to its vector (initEmbeddingsFromVectors). Not applied on --resume, whose weights are the run's. */
  initEmbeddingsFromVectors?: boolean;
  /** Masked LM only: this share of the training rows (0 to < 1) are single sentences of the text, `[CLS]
   *  sentence [SEP]` padded within their batch, beside the packed blocks (sentenceRows); validation stays on
   *  blocks. Default 0. */
  sentenceFraction?: number;
  /** With sentenceFraction: a JSON-lines file of sentences and a teacher encoder's vector of each
   *  (./sentence-vectors.ts); the single-sentence rows are drawn from these sentences instead of the text's, and
   *  each row's [CLS] state learns to carry its sentence's vector (coordinates after the word vectors'), at
   *  distillWeight. */
  distillSentences?: string;
  /** Every N optimizer steps: a row of train_loss, elapsed_s and lr in <output>/metrics.csv (default 10). */
  logEvery?: number;
  /** Every N optimizer steps: val_loss on held-out text, and a resumable checkpoint (default 100). */
  valEvery?: number;
  /** Held-out blocks used for val_loss (default 64). */
  valBlocks?: number;
  /** Continue from <checkpointDir>/last, with the tokenizer already saved in <output>. */
  resume?: boolean;
  seed?: number;
  dtype?: SaveDtype;
  /** Where the trainer's progress goes (default stderr). */
  progressOutput?: { write(s: string): unknown; isTTY?: boolean; columns?: number };
}

export interface PretrainResult {
  output: string;
  objective: Objective;
  parameters: number;
  globalStep: number;
  stopReason: StopReason;
  trainBlocks: number;
  /** Single-sentence rows beside the blocks (sentenceFraction). */
  trainSentences: number;
  /** Rows trained on times the mean row length (sentence rows are shorter than blocks; padding not counted). */
  tokensSeen: number;
  elapsedSeconds: number;
  /** null when interrupted: the run then ends at its checkpoint, without a final evaluation or saved model. */
  finalValLoss: number | null;
}

/** A document's text, and the same content as a conversation when the corpus has one. */
export type Doc = Pick<CorpusDocument, "text" | "messages">;
interface Documents { train: Doc[]; heldOut: Doc[] }

/** The documents of text files: their non-empty lines. About 2% are held out, chosen by a hash of the line. */
async function fileDocuments(files: string[]): Promise<Documents> {
  const out: Documents = { train: [], heldOut: [] };
  for (const f of files) {
    for (const line of (await readFile(f, "utf8")).split(/\r?\n/)) {
      if (!line.trim()) continue;
      const bucket = createHash("sha256").update(line).digest().readUInt32BE(0) % 100;
      (bucket < 2 ? out.heldOut : out.train).push({ text: line });
    }
  }
  return out;
}

async function documents(corpus: PretrainOptions["corpus"]): Promise<Documents> {
  return corpus === "bundled" ? bundledCorpus() : fileDocuments(corpus.files);
}

/** The text a document is pretrained on: a conversation rendered with the tokenizer's chat template when both
 *  exist, so the model learns the template's turns and special tokens; else the plain text. */
export function pretrainingTexts(docs: Doc[], tokenizer: PreTrainedTokenizer): string[] {
  if (tokenizer.chatTemplate === undefined) return docs.map((d) => d.text);
  return docs.map((d) => (d.messages ? tokenizer.applyChatTemplate(d.messages, { tokenize: false }) : d.text));
}


/** The model to train, its tokenizer and objective. A resumed run must tokenize exactly as before, so it reuses
 *  the tokenizer the first run saved: training one again would not give the same ids (the binding's trainer
 *  orders tokens of equal count arbitrarily). */
async function setUp(opts: PretrainOptions, train: string[]): Promise<{ model: PreTrainedModel; tokenizer: PreTrainedTokenizer; objective: Objective }> {
  const spec = opts.model;
  // A fresh model's weights, or the new head of a model saved without one, are drawn from the seeded generator.
  manualSeed(opts.seed ?? 42);
  if ("from" in spec) {
    const load = { ...spec.hub, onWarning: spec.onWarning };
    const cfg = await readConfigJson(spec.from, load);
    const { objective, cls } = pretrainingHead(familyForConfig(cfg.raw, cfg.file));
    const shape = cls.modelShape(cls.parseConfig(cfg.raw, cfg.file));
    if (opts.maxLength > shape.maxPositions) throw new Error(`--max-length ${opts.maxLength} is longer than ${spec.from}'s ${shape.maxPositions} positions`);
    const tokenizer = opts.resume ? await savedTokenizer(opts.output) : await AutoTokenizer.fromPretrained(await tokenizerOf(spec), { modelMaxLength: opts.maxLength });
    if (tokenizer.length > shape.vocabSize) throw new Error(`${spec.from}: the tokenizer has ${tokenizer.length} tokens but the model's vocabulary only ${shape.vocabSize}`);
    const model = await buildPretrained(cls, spec.from, cfg, load);
    if (!opts.resume) await startOutput(opts, tokenizer);
    return { model, tokenizer, objective };
  }
  const objective = objectiveOf(spec.arch);
  let tokenizer: PreTrainedTokenizer;
  if (opts.resume) tokenizer = await savedTokenizer(opts.output);
  else {
    const common = { vocabSize: spec.vocabSize, modelMaxLength: opts.maxLength, additionalSpecialTokens: spec.additionalSpecialTokens };
    tokenizer = spec.tokenizer ? await AutoTokenizer.fromPretrained(spec.tokenizer, { modelMaxLength: opts.maxLength })
      : objective === "mlm" ? await trainWordPieceTokenizer({ texts: train }, { ...common, lowercase: true })
      : await trainByteLevelBpeTokenizer({ texts: train }, common);
    if (spec.chatTemplate !== undefined) tokenizer.chatTemplate = spec.chatTemplate;
    await startOutput(opts, tokenizer);
  }
  return { model: freshModel(spec.arch, spec.size, opts.maxLength, tokenizer), tokenizer, objective };
}

/** A new run's output: its tokenizer alone (--resume reads it back), replacing a previous run's model and tokenizer
 *  as one set, so the folder never pairs a new tokenizer with an old model; and no checkpoint of a previous run, which
 *  --resume would otherwise continue on this run's data. */
async function startOutput(opts: PretrainOptions, tokenizer: PreTrainedTokenizer): Promise<void> {
  const checkpointDir = opts.checkpointDir ?? join(opts.output, "checkpoints");
  for (const old of [LAST_NAME, `${LAST_NAME}.old`, `${LAST_NAME}.tmp`]) await rm(join(checkpointDir, old), { recursive: true, force: true });
  await replaceFileSet(opts.output, PRETRAIN_FILES, async (folder) => { await tokenizer.savePretrained(folder); });
}

async function tokenizerOf(spec: PretrainedModelSpec): Promise<string> {
  const dir = await tokenizerFolder(spec.from, spec.hub);
  if (!dir) throw new Error(`${spec.from}: no tokenizer files (${TOKENIZER_FILES.join(", ")}) to pretrain it with`);
  return dir;
}

async function savedTokenizer(output: string): Promise<PreTrainedTokenizer> {
  if (!(await exists(join(output, "tokenizer.json")))) throw new Error(`--resume: ${output} has no tokenizer.json from the first run`);
  return AutoTokenizer.fromPretrained(output);
}

/** `count` of the teacher's sentences with their vectors, drawn as the text's sentences would be. */
function drawTeacherSentences(teacher: SentenceVectors, count: number, seed: number): SentenceVectors {
  const picked = seededDraw(teacher.texts.map((_, i) => i), count, seed);
  const vectors = new Float32Array(picked.length * teacher.dim);
  picked.forEach((i, k) => vectors.set(teacher.vectors.subarray(i * teacher.dim, (i + 1) * teacher.dim), k * teacher.dim));
  return { dim: teacher.dim, texts: picked.map((i) => teacher.texts[i]), vectors };
}

function loaders(opts: PretrainOptions, objective: Objective, tokenizer: PreTrainedTokenizer, train: Int32Array[], val: Int32Array[], seed: number): { train: Loader<Batch>; val: Loader<Batch> } {
  if (objective === "mlm") {
    const maskTokenId = tokenizer.maskTokenId;
    if (maskTokenId === undefined) throw new Error("the tokenizer has no mask token");
    const masking = { maskTokenId, vocabSize: tokenizer.length, specialIds: new Set(tokenizer.allSpecialIds), mlmProbability: opts.mlmProbability };
    const padTokenId = tokenizer.padTokenId ?? 0;
    return {
      train: new MaskedBlockLoader(train, masking, { batchSize: opts.batchSize, shuffle: true, seed, padTokenId }),
      val: new MaskedBlockLoader(val, masking, { batchSize: opts.batchSize, seed, padTokenId }),
    };
  }
  const examples = (blocks: Int32Array[]) => blocks.map((b) => ({ inputIds: [...b], labels: [...b] }));
  return {
    train: new DataLoader(examples(train), { batchSize: opts.batchSize, shuffle: true, seed, padTokenId: 0 }),
    val: new DataLoader(examples(val), { batchSize: opts.batchSize, seed, padTokenId: 0 }),
  };
}

export async function pretrain(opts: PretrainOptions): Promise<PretrainResult> {
  const seed = opts.seed ?? 42;
  const docs = await documents(opts.corpus);
  const { model, tokenizer, objective } = await setUp(opts, docs.train.map((d) => d.text));
  const pack = { blockSize: opts.maxLength, objective };
  const trainTexts = pretrainingTexts(docs.train, tokenizer);
  const fraction = opts.sentenceFraction ?? 0;
  if (!(fraction >= 0 && fraction < 1)) throw new RangeError(`sentenceFraction must be in [0, 1), got ${fraction}`);
  if (fraction > 0 && objective !== "mlm") throw new Error("--sentence-fraction: single-sentence rows are for masked-LM pretraining, not next-token");
  const trainBlocks = await packBlocks(tokenizer, trainTexts, pack);
  const count = Math.round((trainBlocks.length * fraction) / (1 - fraction));
  if (opts.distillSentences !== undefined && (objective !== "mlm" || count === 0)) throw new Error("--distill-sentences: sentence-vector distillation is for masked-LM pretraining with --sentence-fraction above 0");
  const teacher = opts.distillSentences === undefined ? undefined : await readSentenceVectors(opts.distillSentences);
  const drawn = teacher ? drawTeacherSentences(teacher, count, seed) : undefined;
  const trainSentences = count === 0 ? [] : await sentenceRows(tokenizer, drawn?.texts ?? seededDraw(documentSentences(trainTexts), count, seed), opts.maxLength);
  const valBlocks = (await packBlocks(tokenizer, pretrainingTexts(docs.heldOut, tokenizer), pack)).slice(0, opts.valBlocks ?? 64);
  if (valBlocks.length === 0) throw new Error("the held-out text is shorter than one block, so there is nothing to validate on");

  const optimization = {
    lr: opts.lr, weightDecay: opts.weightDecay ?? 0.01, warmupSteps: opts.warmupSteps, warmupRatio: opts.warmupRatio, schedule: opts.schedule ?? "linear",
  };
  if (opts.distillVectors !== undefined && objective !== "mlm") throw new Error("--distill-vectors: word-vector distillation is for masked-LM pretraining, not next-token");
  const words = opts.distillVectors === undefined ? undefined : await readWordVectorTargets(opts.distillVectors, tokenizer);
  if (opts.initEmbeddingsFromVectors && !words) throw new Error("--init-embeddings-from-vectors needs --distill-vectors FILE");
  if (opts.initEmbeddingsFromVectors && !opts.resume) initEmbeddingsFromVectors(model.getInputEmbeddings().weight, words!);
  const width = model.getInputEmbeddings().weight.shape[1];
  if ((words?.dim ?? 0) + (drawn?.dim ?? 0) > width) {
    throw new Error(`${[words && `${opts.distillVectors}: ${words.dim}-d word vectors`, drawn && `${opts.distillSentences}: ${drawn.dim}-d sentence vectors`].filter(Boolean).join(" and ")} need more than the model's ${width} hidden coordinates`);
  }
  const distill: Distillation | undefined = words || drawn ? {
    words,
    sentences: drawn && { firstRow: trainBlocks.length, offset: words?.dim ?? 0, vectors: drawn },
    weight: opts.distillWeight ?? 1,
  } : undefined;
  const module: TrainingModule<Batch> = objective === "mlm"
    ? new MaskedLMModule(model as unknown as MaskedLanguageModel, optimization, distill)
    : new CausalLMModule(model, optimization);
  const trainRows = [...trainBlocks, ...trainSentences];
  const meanRowLength = trainRows.reduce((n, r) => n + r.length, 0) / trainRows.length;
  const data = loaders(opts, objective, tokenizer, trainRows, valBlocks, seed);

  const checkpointDir = opts.checkpointDir ?? join(opts.output, "checkpoints");
  const clock = new WallClock((opts.maxMinutes ?? Infinity) * 60);
  const valEvery = opts.valEvery ?? 100;
  const trainer = new Trainer({
    maxSteps: opts.maxSteps,
    maxEpochs: opts.epochs,
    logEveryNSteps: opts.logEvery ?? 10,
    valCheckInterval: Math.max(2, valEvery),
    gradientClipVal: opts.gradientClip ?? 1,
    seed,
    handleSignals: true,
    callbacks: [clock, new ModelCheckpoint({ dirpath: checkpointDir, saveTopK: 0, saveLast: true })],
    logger: new StepCsvLogger(opts.output),
    defaultRootDir: opts.output,
    progressOutput: opts.progressOutput,
  });
  const fit = await trainer.fit(module, data.train, data.val, { ckptPath: opts.resume ? join(checkpointDir, LAST_NAME) : undefined });
  const result: PretrainResult = {
    output: opts.output,
    objective,
    parameters: model.numParameters(),
    globalStep: fit.globalStep,
    stopReason: fit.stopReason,
    trainBlocks: trainBlocks.length,
    trainSentences: trainSentences.length,
    tokensSeen: Math.round(fit.globalStep * opts.batchSize * meanRowLength),
    elapsedSeconds: clock.elapsed,
    finalValLoss: null,
  };
  if (fit.stopReason === "interrupted") return result;
  const final: Metrics = (await trainer.validate(module, data.val))[0];
  await replaceFileSet(opts.output, PRETRAIN_FILES, async (folder) => {
    await model.savePretrained(folder, { dtype: opts.dtype });
    await tokenizer.savePretrained(folder);
  });
  return { ...result, objective, finalValLoss: final.val_loss };
}

// One fine-tuning run, start to finish: load the pretrained model, set up the method, train, score the
// validation and test splits, and save the result. `finetune train` runs it once; `finetune compare` once
// per method on the same data, which is why the timings and counts it returns are measured here.
import { join } from "node:path";
import { DataLoader, type Loader } from "../../data/dataloader.js";
import { packExamples } from "../../data/packing.js";
import type { Example } from "../../data/collate.js";
import { splitDataset, type TextExample } from "../../data/index.js";
import {
  LogisticRegression, MLPClassifier, countParameters, defaultPooling, extractFeatures, formatParameterCount, type ParameterCount,
  type Pooling,
} from "../../methods/index.js";
import { setGradientCheckpointing, type PreTrainedModel } from "../../models/index.js";
import { PeftModel, type PromptLearningConfig } from "../../peft/index.js";
import { Tensor, cat, manualSeed, noGrad } from "../../tensor/index.js";
import type { PreTrainedTokenizer } from "../../tokenizers/index.js";
import {
  CSVLogger, CausalLMModule, ModelCheckpoint, SequenceClassificationModule, Trainer, findCheckpoint, lrFind, tokenizeDataset, type Metrics, type TrainingModule,
} from "../../train/index.js";
import type { LearningRate, LrFindSummary } from "../../train/lr-finder.js";
import { formatLr, formatSeconds } from "../../report/format.js";
import { Interrupted, UsageError } from "../command.js";
import { cliPeftMethods, defaultLr, prepareMethod, type MethodName, type MethodOptions, type Task } from "../methods.js";
import { evaluateClassifier, featureClassifier, modelClassifier, padTokenId, type SequenceClassifier } from "./classifier.js";
import type { TaskData } from "./data.js";
import { evaluateLm, tokenizeLm } from "./lm.js";
import { saveOutput, type Artifact, type RunSettings } from "./output-dir.js";
import { loadBaseModel, loadModel, maxPositions, modelLabelNames, type ModelSource } from "./sources.js";

export interface Hyperparameters {
  /** Default 3 when maxSteps is not set either. */
  epochs?: number;
  maxSteps?: number;
  batchSize: number;
  /** A rate, or "auto" for a range test; default: the method's for the model (defaultLr). */
  lr?: LearningRate;
  weightDecay: number;
  warmupRatio: number;
  gradAccum: number;
  maxLength: number;
  seed: number;
  clip?: number;
  /** Recompute each transformer block's activations in backward (setGradientCheckpointing). */
  gradientCheckpointing?: boolean;
  /** Causal-LM: pack the training examples into rows of maxLength tokens. */
  packing?: boolean;
}

export const DEFAULT_HYPERPARAMETERS = { batchSize: 16, weightDecay: 0, warmupRatio: 0, gradAccum: 1, maxLength: 128, seed: 42 } as const;
const DEFAULT_EPOCHS = 3;
/** Where a run's trainer checkpoints go, under its output folder. */
export const CHECKPOINTS = "checkpoints";

export interface RunInput {
  method: MethodName;
  methodOptions: MethodOptions;
  hp: Hyperparameters;
  source: ModelSource;
  tokenizer: PreTrainedTokenizer;
  data: TaskData;
  /** Where the trained result goes; nothing is saved without it. */
  output?: string;
  /** Continue from <output>/checkpoints/last. */
  resume?: boolean;
  /** `train`: validate during fit and checkpoint every epoch. `compare` leaves both out, so the measured time is
   *  training alone. Either way Ctrl-C ends training cleanly, with a checkpoint to resume from. */
  interactive: boolean;
  log: (line: string) => void;
}

export interface RunResult {
  method: MethodName;
  task: Task;
  /** Wall-clock seconds of training (summed over the runs a resumed one continues); for feature-based, extraction
   *  over the training texts plus the classifier fit. */
  trainSeconds: number;
  /** Feature-based only: the part of trainSeconds spent running the frozen model. */
  extractSeconds: number | null;
  /** Optimizer steps taken (null for feature-based). */
  steps: number | null;
  /** The peak learning rate trained with (null for feature-based, whose classifier has its own solver). */
  lr: number | null;
  /** The range test that chose `lr`, when it was "auto". */
  lrFind: LrFindSummary | null;
  params: ParameterCount;
  /** Bytes of the saved model, adapter or classifier file (null when nothing was saved). */
  artifactBytes: number | null;
  validation: Metrics | null;
  test: Metrics | null;
}

export function runFineTune(input: RunInput): Promise<RunResult> {
  if (input.method === "feature") return runFeatureBased(input);
  return runWithTrainer(input, input.method);
}

async function runWithTrainer(input: RunInput, method: MethodName): Promise<RunResult> {
  const { hp, data, tokenizer, output } = input;
  manualSeed(hp.seed);
  // Full fine-tuning freezes nothing, so there is no weight for bf16 storage: it loads fp32.
  const source = method === "full" ? { ...input.source, baseDtype: undefined } : input.source;
  const base = await loadModel(data.task, source, data.task === "seq-cls" ? data.labels : undefined, padTokenId(tokenizer));
  const model = await prepareMethod(base, method, input.methodOptions, { task: data.task, baseModel: input.source.ref, tokenizer });
  if (hp.gradientCheckpointing) setGradientCheckpointing(base);
  const params = countParameters(model);
  input.log(formatParameterCount(params));
  const virtual = virtualTokens(model);
  const maxLength = Math.min(hp.maxLength, maxPositions(base) - virtual);
  if (maxLength < 2) throw new UsageError(`${virtual} virtual tokens leave no room for text in the model's ${maxPositions(base)} positions; lower --num-virtual-tokens`);
  const examples = (split: "train" | "validation" | "test") => tokenizeSplit(data, split, tokenizer, maxLength);
  const loader = (ex: Example[], shuffle = false) => new DataLoader(ex, { batchSize: hp.batchSize, shuffle, seed: hp.seed, padTokenId: padTokenId(tokenizer) });

  const labelNames = data.task === "seq-cls" ? modelLabelNames(base) : null;
  const makeModule = (lr: number) => {
    const optimization = { lr, weightDecay: hp.weightDecay, warmupRatio: hp.warmupRatio };
    return labelNames ? new SequenceClassificationModule(model, { ...optimization, numLabels: labelNames.length }) : new CausalLMModule(model, optimization);
  };
  const trainer = new Trainer({
    maxEpochs: hp.epochs ?? (hp.maxSteps === undefined ? DEFAULT_EPOCHS : undefined),
    maxSteps: hp.maxSteps,
    accumulateGradBatches: hp.gradAccum,
    gradientClipVal: hp.clip,
    optionNames: { gradientClipVal: "--clip" },
    seed: hp.seed,
    callbacks: input.interactive && output ? [new ModelCheckpoint({ dirpath: join(output, CHECKPOINTS), saveTopK: 0, saveLast: true })] : [],
    logger: output ? new CSVLogger(join(output, "logs")) : false,
    enableProgressBar: input.interactive || process.stderr.isTTY === true,
    handleSignals: true,
    defaultRootDir: output,
  });
  const trainLoader = loader(hp.packing ? pack(model, await examples("train"), maxLength, method, virtual, data, input.log) : await examples("train"), true);
  const valLoader = input.interactive && data.splits.validation ? loader(await examples("validation")) : undefined;
  const ckptPath = input.resume ? await lastCheckpoint(output) : undefined;
  // The range test sets the rate of every step itself, so the module it probes with needs none.
  const { lr, lrFind } = await learningRate(input, method, base, () => lrRangeTest(trainer, makeModule(0), trainLoader));
  const fit = await trainer.fit(makeModule(lr), trainLoader, valLoader, { ckptPath });
  if (fit.stopReason === "interrupted") throw new Interrupted(`interrupted at step ${fit.globalStep}; continue with the same command and --resume`);

  const scores = data.task === "seq-cls"
    ? classifierScores(modelClassifier(model, { tokenizer, maxLength, batchSize: hp.batchSize, labelNames: labelNames! }), data)
    : lmScores(model, tokenizer, data, maxLength, hp.batchSize);
  const { validation, test } = await scores;
  const artifact: Artifact = model instanceof PeftModel ? { kind: "adapter", model } : { kind: "model", model };
  const result: RunResult = { method, task: data.task, trainSeconds: fit.fitSeconds, extractSeconds: null, steps: fit.globalStep, lr, lrFind, params, artifactBytes: null, validation, test };
  return save(input, result, artifact, { labelNames, maxLength, pooling: null });
}

/** Positions a prompt-learning adapter puts in front of the text. */
function virtualTokens(model: PreTrainedModel | PeftModel): number {
  const config = model instanceof PeftModel ? model.activeConfig : null;
  return config?.isPromptLearning ? ((config as PromptLearningConfig).numVirtualTokens ?? 0) : 0;
}

/** Training examples packed into rows of maxLength tokens; validation and test are scored unpacked, per row. */
function pack(model: PreTrainedModel | PeftModel, examples: Example[], maxLength: number, method: MethodName, virtual: number, data: TaskData, log: (line: string) => void): Example[] {
  if (data.task !== "causal-lm") throw new UsageError("--packing packs causal-LM examples; it needs --task causal-lm");
  if (virtual > 0) {
    const injecting = cliPeftMethods().filter((m) => m.tuner.kind === "inject").map((m) => m.cli.name);
    throw new UsageError(`--packing puts several examples in one row, but --method ${method} puts its virtual tokens in front of the whole row; use ${injecting.join(", ")} or a layer method`);
  }
  if (!keepsPackedSequencesApart(model)) {
    throw new UsageError("--packing: this model's attention does not keep packed sequences apart (its family does not read restarting position ids); train without --packing");
  }
  const rows = packExamples(examples, maxLength);
  const tokens = examples.reduce((n, e) => n + e.inputIds.length, 0);
  log(`packing: ${examples.length} examples (${tokens} tokens) into ${rows.length} rows of up to ${maxLength} tokens (${(100 * tokens / (rows.length * maxLength)).toFixed(1)}% full)`);
  return rows;
}

/** Whether the model reads a restart of the position ids as a new sequence: the second of two packed sequences
 *  must give what it gives alone. Checked on the model itself, so a family that ignores packing is refused
 *  instead of training on sequences that see each other. */
function keepsPackedSequencesApart(model: PreTrainedModel | PeftModel): boolean {
  const wasTraining = model.training;
  model.eval();
  try {
    const packed = noGrad(() => model.forward({ inputIds: [[1, 2, 3, 4]], positionIds: [[0, 1, 0, 1]] }).logits);
    const alone = noGrad(() => model.forward({ inputIds: [[3, 4]] }).logits);
    const tail = packed.data.subarray(packed.numel / 2);
    let diff = 0, scale = 0;
    alone.data.forEach((v, i) => { diff = Math.max(diff, Math.abs(v - tail[i]!)); scale = Math.max(scale, Math.abs(v)); });
    return diff <= 1e-4 * Math.max(1, scale);
  } finally {
    model.train(wasTraining);
  }
}

/** The logistic regression's inverse L2 strengths tried by feature-based training (sklearn's C), as the bag-of-words
 *  baseline of the bundled model's evidence picks its own. */
const LOGREG_CS = [0.1, 0.3, 1, 3, 10];

async function runFeatureBased(input: RunInput): Promise<RunResult> {
  const { hp, data, tokenizer, methodOptions: mo } = input;
  if (data.task !== "seq-cls") throw new UsageError("--method feature fits a classifier on frozen features, so it needs --task seq-cls");
  if (input.resume) throw new UsageError("--resume continues trainer checkpoints; feature-based training has none (rerun it, the features are quick to recompute)");
  const train = data.splits.train!;
  if (train.some((r) => r.textPair !== undefined)) throw new UsageError("--method feature reads single texts; drop --text-pair-column or pick another method");
  manualSeed(hp.seed);
  const base = await loadBaseModel(input.source);
  const maxLength = Math.min(hp.maxLength, maxPositions(base));
  // Too few rows to hold a tenth out of (and no validation split): the model's usual pooling and C = 1.
  const canChoose = data.splits.validation !== undefined || train.length >= 20;
  const poolings = mo.pooling ? [mo.pooling] : canChoose ? [...new Set<Pooling>([defaultPooling(base), "mean"])] : [defaultPooling(base)];
  const Cs = mo.classifier === "mlp" || !canChoose ? [undefined] : LOGREG_CS;
  let extractMs = 0;
  const features = async (rows: TextExample[], pooling: Pooling) => {
    const t = performance.now();
    const X = await extractFeatures(base, tokenizer, rows.map((r) => r.text), { pooling, maxLength, batchSize: hp.batchSize });
    extractMs += performance.now() - t;
    return X;
  };
  const labels = (rows: TextExample[]) => Int32Array.from(rows, (r) => r.label);
  const fit = (X: Tensor, y: Int32Array, C: number | undefined) => (mo.classifier === "mlp" ? new MLPClassifier({ seed: hp.seed }).fit(X, y) : new LogisticRegression({ C }).fit(X, y));

  const started = performance.now();
  let pooling = poolings[0]!, clf: LogisticRegression | MLPClassifier;
  if (poolings.length * Cs.length === 1) {
    input.log(`extracting ${pooling}-pooled features of ${train.length} training texts`);
    clf = fit(await features(train, pooling), labels(train), undefined);
  } else {
    // The pooling that suits a model is a property of its pretraining (an MLM-only model never trained its [CLS]),
    // and the L2 strength one of its features' scale and the rows at hand, so each pair is scored on rows the
    // classifier did not see: the validation split, else a tenth of train (as the bag-of-words baseline picks C).
    const validation = data.splits.validation;
    const held = validation ? null : splitDataset(train, { validation: 0.1, seed: hp.seed });
    const [fitRows, pickRows] = held ? [held.train!, held.validation!] : [train, validation!];
    const what = [poolings.length > 1 ? "pooling" : "", Cs.length > 1 ? "L2 strength C" : ""].filter(Boolean).join(" and ");
    input.log(`extracting ${poolings.join(" and ")}-pooled features of ${train.length} training texts; keeping the ${what} that scores best on ${held ? "a held-out tenth of them" : "the validation split"}`);
    type Tried = { pooling: Pooling; C: number | undefined; X: Tensor; Xp: Tensor; clf: LogisticRegression | MLPClassifier; acc: number };
    const tried: Tried[] = [];
    for (const p of poolings) {
      const X = await features(fitRows, p), Xp = await features(pickRows, p);
      for (const C of Cs) {
        const c = fit(X, labels(fitRows), C);
        tried.push({ pooling: p, C, X, Xp, clf: c, acc: c.score(Xp, labels(pickRows)) });
      }
    }
    // Ties go to the first: the stronger L2 strength (Cs ascend), as sklearn's LogisticRegressionCV.
    const top = (ts: Tried[]) => ts.reduce((a, b) => (b.acc > a.acc ? b : a));
    const best = top(tried);
    const at = (t: Tried) => `${t.acc.toFixed(4)}${t.C === undefined ? "" : ` at C ${t.C}`}`;
    input.log(`picked: ${[poolings.length > 1 ? `${best.pooling} pooling` : "", best.C === undefined ? "" : `C ${best.C}`].filter(Boolean).join(", ")}` +
      ` (accuracy: ${poolings.map((p) => `${p} ${at(top(tried.filter((t) => t.pooling === p)))}`).join(", ")})`);
    pooling = best.pooling;
    clf = held ? fit(cat([best.X, best.Xp], 0), Int32Array.from([...labels(fitRows), ...labels(pickRows)]), best.C) : best.clf;
  }
  const trainSeconds = (performance.now() - started) / 1000, extractSeconds = extractMs / 1000;

  const trainable = clf instanceof MLPClassifier ? countParameters(clf.net!).all : clf.coef!.numel + clf.intercept!.numel;
  const params = { trainable, all: countParameters(base).all + trainable };
  input.log(formatParameterCount(params));
  const { validation, test } = await classifierScores(featureClassifier(base, clf, { tokenizer, maxLength, batchSize: hp.batchSize, labelNames: data.labels.names, pooling }), data);
  const result: RunResult = { method: "feature", task: "seq-cls", trainSeconds, extractSeconds, steps: null, lr: null, lrFind: null, params, artifactBytes: null, validation, test };
  return save(input, result, { kind: "feature", classifier: clf }, { labelNames: data.labels.names, maxLength, pooling });
}

/** The rate to train with: the one given, the method's default for this model, or a range test's suggestion. */
async function learningRate(
  input: RunInput, method: MethodName, base: PreTrainedModel, rangeTest: () => Promise<LrFindSummary>,
): Promise<{ lr: number; lrFind: LrFindSummary | null }> {
  const setting = input.hp.lr ?? defaultLr(method, base, input.methodOptions);
  if (setting !== "auto") return { lr: setting, lrFind: null };
  input.log(`finding a learning rate: a range test of up to ${LR_FIND.numTraining} steps from ${LR_FIND.minLr} to ${LR_FIND.maxLr}`);
  const found = await rangeTest();
  const lr = found.suggestion ?? defaultLr(method, base, input.methodOptions);
  input.log(`learning rate ${formatLr(lr)}${found.suggestion === null ? ` (the default: the range test had too few points to suggest one)` : " (range test)"}: ` +
    `suggestion ${found.suggestion === null ? "none" : formatLr(found.suggestion)}, lowest loss at ${found.minLossLr === null ? "none" : formatLr(found.minLossLr)}, ` +
    `${found.steps} of ${found.numTraining} steps${found.stoppedEarly ? " (stopped: the loss diverged)" : ""}, ${formatSeconds(found.seconds)}`);
  return { lr, lrFind: found };
}

/** Lightning's defaults. */
const LR_FIND = { minLr: 1e-8, maxLr: 1, numTraining: 100 };

async function lrRangeTest<B>(trainer: Trainer, module: TrainingModule<B>, loader: Loader<B>): Promise<LrFindSummary> {
  const started = performance.now();
  const f = await lrFind(trainer, module, loader, LR_FIND);
  return {
    suggestion: f.suggestion(), minLossLr: f.minLossLr(), steps: f.stepsRun, numTraining: LR_FIND.numTraining, stoppedEarly: f.stoppedEarly,
    seconds: (performance.now() - started) / 1000,
  };
}

async function classifierScores(c: SequenceClassifier, data: TaskData & { task: "seq-cls" }): Promise<Pick<RunResult, "validation" | "test">> {
  const score = (rows: typeof data.splits.train) => (rows ? evaluateClassifier(c, rows) : Promise.resolve(null));
  return { validation: await score(data.splits.validation), test: await score(data.splits.test) };
}

async function lmScores(model: PreTrainedModel | PeftModel, tokenizer: PreTrainedTokenizer, data: TaskData, maxLength: number, batchSize: number): Promise<Pick<RunResult, "validation" | "test">> {
  const score = async (split: "validation" | "test") =>
    data.splits[split] ? evaluateLm(model, tokenizer, await tokenizeSplit(data, split, tokenizer, maxLength), batchSize) : null;
  return { validation: await score("validation"), test: await score("test") };
}

function tokenizeSplit(data: TaskData, split: "train" | "validation" | "test", tokenizer: PreTrainedTokenizer, maxLength: number): Promise<Example[]> {
  const label = `${split} data`;
  if (data.task === "seq-cls") return tokenizeDataset(tokenizer, data.splits[split]!, { maxLength, label });
  return tokenizeLm(tokenizer, data.splits[split]!, maxLength, data.columns, label);
}

async function save(input: RunInput, result: RunResult, artifact: Artifact, s: Pick<RunSettings, "labelNames" | "maxLength" | "pooling">): Promise<RunResult> {
  if (!input.output) return result;
  const settings = { method: input.method, task: result.task, baseModel: input.source.ref, methodOptions: input.methodOptions, ...s };
  const artifactBytes = await saveOutput(input.output, artifact, input.tokenizer, settings, (bytes) => ({ ...result, artifactBytes: bytes }));
  return { ...result, artifactBytes };
}

async function lastCheckpoint(output: string | undefined): Promise<string> {
  if (!output) throw new UsageError("--resume needs --output (the folder of the run to continue)");
  const dir = join(output, CHECKPOINTS, "last");
  if (!(await findCheckpoint(dir))) {
    throw new UsageError(`--resume: no checkpoint at ${dir} to continue from (the run stopped before its first one); run without --resume to start over`);
  }
  return dir;
}

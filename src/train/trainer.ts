// The training loop of Lightning's Trainer: fit / validate / test / predict over a TrainingModule, with gradient
// accumulation, clipping, periodic validation, callbacks, loggers, exact resume from checkpoints, NaN/Inf
// detection and (opt-in) clean shutdown on SIGINT/SIGTERM.
//
// Steps and epochs: `globalStep` counts optimizer steps done; a metric row logged at step N comes after the N-th
// step. Epochs are 0-based, as in checkpoint names ("epoch=0-step=50"). A checkpoint is only ever taken between
// optimizer steps, so it never holds half-accumulated gradients.
import { join } from "node:path";
import type { Loader } from "../data/dataloader.js";
import { clipGradNorm, type LRScheduler, type Optimizer } from "../optim/index.js";
import { Tensor, defaultGenerator, manualSeed, noGrad, scale } from "../tensor/index.js";
import type { Callback } from "./callbacks/callback.js";
import { LAST_NAME, ModelCheckpoint } from "./callbacks/model-checkpoint.js";
import { readCheckpoint, restoreOptimizer, restoreWeights, writeCheckpoint } from "./checkpoint.js";
import { firstNonFiniteGrad, nonFiniteError, type NonFiniteError } from "./faults.js";
import { checkMemoryBudget, type TrainingRun } from "./memory-estimate.js";
import type { Logger, RunStatus } from "./loggers.js";
import type { Metrics, TrainingModule, TrainingStepOutput } from "./module.js";
import { ProgressReporter } from "./progress.js";
import { onInterrupt } from "./signals.js";
import { WeightedMeans } from "./weighted-means.js";

export interface TrainerOptions {
  /** Default 1000 when maxSteps is not set either (Lightning's default), else unlimited. */
  maxEpochs?: number;
  /** Stop after this many optimizer steps; -1 (the default) for no limit. */
  maxSteps?: number;
  /** Micro-batches whose gradients are summed (each loss scaled by 1/k) before one optimizer step. */
  accumulateGradBatches?: number;
  /** Clips the global gradient L2 norm to this value before each step. */
  gradientClipVal?: number;
  /** What the application calls these options, for messages that advise changing them (the CLI: --clip). */
  optionNames?: { gradientClipVal?: string };
  /** When to validate: 1 (default) at each epoch end; a value in (0, 1) that fraction of an epoch (and at its end);
   *  an integer > 1 every that many optimizer steps. */
  valCheckInterval?: number;
  /** A fraction (<= 1) or a number (> 1) of the loader's batches to use per epoch; for quick runs. */
  limitTrainBatches?: number;
  limitValBatches?: number;
  callbacks?: Callback[];
  logger?: Logger | Logger[] | false;
  /** Logs the mean training metrics (train_loss, ...) every N optimizer steps (default 50). */
  logEveryNSteps?: number;
  /** Seeds the default generator (dropout) at the start of a fresh fit, like seed_everything. */
  seed?: number;
  enableProgressBar?: boolean;
  /** Stop with NonFiniteError when the loss or a gradient is NaN/Inf (default true). */
  checkNonFinite?: boolean;
  /** An interrupted run saves <defaultRootDir>/checkpoints/last when no ModelCheckpoint gives a directory
   *  (default: the working directory). */
  defaultRootDir?: string;
  /** On SIGINT/SIGTERM finish the current step, save a checkpoint and return (a second signal quits at once).
   *  Off by default, since a library should not take over a process's signals; the CLI turns it on. */
  handleSignals?: boolean;
  /** Refuse to start (MemoryBudgetError) when the estimated peak memory of the run (weights, gradients, optimizer
   *  state, activations at the loader's batch size and longest example) exceeds this many bytes. Default 80% of the
   *  machine's memory; false skips the check. Only loaders that expose `batchSize` and `examples` (DataLoader) are
   *  checked. */
  memoryLimitBytes?: number | false;
  /** Progress display and notices (default: stderr). */
  progressOutput?: { write(s: string): unknown; isTTY?: boolean; columns?: number };
}

export type StopReason = "max_epochs" | "max_steps" | "stopped" | "interrupted";

export interface FitResult {
  globalStep: number;
  /** The epoch training would continue with. */
  epoch: number;
  stopReason: StopReason;
  /** Why a callback or signal stopped training. */
  stopMessage: string | null;
  /** The newest resumable save (after an interruption, the one it made): fit's `ckptPath` continues from it. */
  lastCheckpoint: string | null;
  bestModelPath: string | null;
  /** Wall-clock seconds in fit, including the runs before a resume: what the whole training took. */
  fitSeconds: number;
}

export interface RunOptions {
  /** A checkpoint directory, or "best" / "last" for the ModelCheckpoint's best or the newest save. fit() resumes
   *  training from it; validate/test/predict load its weights. */
  ckptPath?: string;
}

const FLUSH_LOGS_EVERY_N_STEPS = 100;

export class Trainer {
  readonly maxEpochs: number;
  readonly maxSteps: number;
  readonly accumulateGradBatches: number;
  readonly logEveryNSteps: number;
  readonly callbacks: Callback[];
  readonly loggers: Logger[];

  globalStep = 0;
  currentEpoch = 0;
  /** The next micro-batch of the current epoch. */
  batchIdx = 0;
  /** The latest value of every logged metric (what callbacks monitor). */
  callbackMetrics: Metrics = {};
  /** Learning rates the last optimizer step used, per parameter group. */
  stepLrs: number[] = [];
  optimizer: Optimizer<{ lr: number }> | null = null;
  scheduler: LRScheduler | null = null;
  /** Whether fit runs validation (a validation loader was given). */
  validationEnabled = false;

  private module: TrainingModule<unknown> | null = null;
  private trainLoader: Loader<unknown> | null = null;
  private lastSave: { path: string; step: number; resumable: boolean } | null = null;
  private stop: { reason: StopReason; message: string | null } | null = null;
  private epochDone = false;
  /** fit's clock: seconds carried over from the checkpoint it resumed, plus this run's since `started` while it runs. */
  private fitClock = { carried: 0, started: 0, running: false };
  private epochLoss = { sum: 0, count: 0 };
  private readonly trainMeans = new WeightedMeans();
  /** The optimizer's parameters by name, for naming a non-finite gradient. */
  private optimizerParams: [string, Tensor][] = [];
  private readonly progress: ProgressReporter;

  constructor(readonly opts: TrainerOptions = {}) {
    this.maxSteps = opts.maxSteps ?? -1;
    this.maxEpochs = opts.maxEpochs ?? (this.maxSteps >= 0 ? Infinity : 1000);
    this.accumulateGradBatches = opts.accumulateGradBatches ?? 1;
    this.logEveryNSteps = opts.logEveryNSteps ?? 50;
    if (!Number.isInteger(this.accumulateGradBatches) || this.accumulateGradBatches < 1) throw new RangeError(`accumulateGradBatches must be a positive integer, got ${this.accumulateGradBatches}`);
    // Checkpointing runs last, so the states it saves include what the other callbacks did at the same point.
    const cbs = opts.callbacks ?? [];
    this.callbacks = [...cbs.filter((c) => !(c instanceof ModelCheckpoint)), ...cbs.filter((c) => c instanceof ModelCheckpoint)];
    this.loggers = opts.logger === false || opts.logger === undefined ? [] : Array.isArray(opts.logger) ? opts.logger : [opts.logger];
    this.progress = new ProgressReporter(opts.progressOutput ?? process.stderr, opts.enableProgressBar ?? true);
  }

  /** Seconds the current (or last) fit has trained, counting the runs before a resume. */
  get fitSeconds(): number {
    const c = this.fitClock;
    return c.carried + (c.running ? (performance.now() - c.started) / 1000 : 0);
  }

  get lastCheckpointPath(): string | null {
    return this.lastSave?.path ?? null;
  }

  get checkpointCallback(): ModelCheckpoint | null {
    return (this.callbacks.find((c) => c instanceof ModelCheckpoint) as ModelCheckpoint | undefined) ?? null;
  }

  /** Ends fit after the current optimizer step (what EarlyStopping calls). */
  requestStop(message: string): void {
    this.stop ??= { reason: "stopped", message };
  }

  /** Sends metrics to the loggers at the current step and makes them visible to callbacks. */
  log(metrics: Metrics): void {
    Object.assign(this.callbackMetrics, metrics);
    for (const l of this.loggers) l.logMetrics({ ...metrics, epoch: this.currentEpoch }, this.globalStep);
  }

  async fit<B>(module: TrainingModule<B>, trainLoader: Loader<B>, valLoader?: Loader<B>, opts: RunOptions = {}): Promise<FitResult> {
    if (valLoader && !module.validationStep) throw new Error("fit: a validation loader was given but the module has no validationStep");
    const nb = limitBatches(trainLoader.length, this.opts.limitTrainBatches);
    if (nb === 0) throw new Error("fit: the training loader has no batches");
    const stepsPerEpoch = Math.ceil(nb / this.accumulateGradBatches);
    const epochSteps = stepsPerEpoch * this.maxEpochs;
    const totalSteps = this.maxSteps >= 0 ? Math.min(this.maxSteps, epochSteps) : epochSteps;
    if (!Number.isFinite(totalSteps)) throw new Error("fit: set maxEpochs or maxSteps");

    // Resolved before the reset below forgets the previous fit's last checkpoint.
    const resumeFrom = opts.ckptPath === undefined ? null : this.resolveCkpt(opts.ckptPath);
    const m = module as TrainingModule<unknown>;
    this.module = m;
    this.trainLoader = trainLoader as Loader<unknown>;
    this.validationEnabled = valLoader !== undefined;
    const { optimizer, scheduler } = module.configureOptimizers({ totalSteps });
    this.optimizer = optimizer;
    this.scheduler = scheduler ?? null;
    const inOptimizer = new Set(optimizer.paramGroups.flatMap((g) => g.params));
    this.optimizerParams = [...module.model.namedParameters()].filter(([, p]) => inOptimizer.has(p));
    if (this.opts.memoryLimitBytes !== false) checkRunMemory(module.model, trainLoader, optimizer, this.opts.memoryLimitBytes);
    this.resetProgress();
    if (resumeFrom) await this.resume(resumeFrom, nb);
    else if (this.opts.seed !== undefined) manualSeed(this.opts.seed);
    this.fitClock = { ...this.fitClock, started: performance.now(), running: true };
    optimizer.zeroGrad();

    // Handlers go in before anything of the run is written: a signal that arrives once hparams.json exists
    // must stop the run with a checkpoint, not kill the process.
    const removeSignals = this.opts.handleSignals
      ? onInterrupt((sig) => {
        this.stop = { reason: "interrupted", message: `Interrupted by ${sig}` };
        this.progress.message(`${sig} received: finishing the current step, then saving a checkpoint (send it again to quit at once)`, true);
      })
      : () => undefined;
    let status: RunStatus = "failed";
    try {
      for (const cb of this.callbacks) await cb.onFitStart?.(this);
      if (m.hparams) for (const l of this.loggers) await l.logHyperparams?.(m.hparams);
      await this.trainLoop(m, this.trainLoader, valLoader as Loader<unknown> | undefined, nb, stepsPerEpoch, totalSteps);
      const reason = this.stop?.reason ?? "max_epochs";
      for (const cb of this.callbacks) await cb.onFitEnd?.(this);
      if (reason === "interrupted") await this.saveInterrupted();
      status = reason === "interrupted" ? "interrupted" : "success";
      return {
        globalStep: this.globalStep,
        epoch: this.epochDone ? this.currentEpoch + 1 : this.currentEpoch,
        stopReason: reason,
        stopMessage: this.stop?.message ?? null,
        lastCheckpoint: this.lastCheckpointPath,
        bestModelPath: this.checkpointCallback?.bestModelPath ?? null,
        fitSeconds: this.fitSeconds,
      };
    } finally {
      this.fitClock = { carried: this.fitSeconds, started: 0, running: false };
      removeSignals();
      this.progress.close();
      for (const l of this.loggers) await l.finalize?.(status);
    }
  }

  async validate<B>(module: TrainingModule<B>, loader: Loader<B>, opts: RunOptions = {}): Promise<Metrics[]> {
    return this.evaluateAndLog("val", module as TrainingModule<unknown>, loader as Loader<unknown>, opts);
  }

  async test<B>(module: TrainingModule<B>, loader: Loader<B>, opts: RunOptions = {}): Promise<Metrics[]> {
    return this.evaluateAndLog("test", module as TrainingModule<unknown>, loader as Loader<unknown>, opts);
  }

  /** predictStep's output for every batch, in loader order (batches carry their dataset indices). */
  async predict<B, T = unknown>(module: TrainingModule<B>, loader: Loader<B>, opts: RunOptions = {}): Promise<T[]> {
    if (!module.predictStep) throw new Error("predict: the module has no predictStep");
    if (opts.ckptPath) await this.loadWeights(module.model, opts.ckptPath);
    const wasTraining = module.model.training;
    module.model.eval();
    const out: T[] = [];
    try {
      let i = 0;
      for (const batch of loader.iterate(0)) {
        const idx = i++;
        out.push(noGrad(() => module.predictStep!(batch, idx)) as T);
        await yieldToEventLoop();
      }
    } finally {
      module.model.train(wasTraining);
    }
    return out;
  }

  /** Writes a resumable checkpoint of the current fit (weights only with weightsOnly). */
  async saveCheckpoint(dir: string, opts: { weightsOnly?: boolean } = {}): Promise<void> {
    if (!this.module || !this.optimizer) throw new Error("saveCheckpoint: only during or after fit()");
    const callbacks: Record<string, unknown> = {};
    for (const cb of this.callbacks) if (cb.stateKey && cb.stateDict) callbacks[cb.stateKey] = cb.stateDict();
    await writeCheckpoint(dir, {
      model: this.module.model,
      optimizer: opts.weightsOnly ? undefined : this.optimizer,
      state: {
        epoch: this.epochDone ? this.currentEpoch + 1 : this.currentEpoch,
        batchIdx: this.epochDone ? 0 : this.batchIdx,
        globalStep: this.globalStep,
        fitSeconds: this.fitSeconds,
        rng: defaultGenerator.getState(),
        loader: this.trainLoader?.stateDict?.(),
        scheduler: this.scheduler?.stateDict(),
        callbacks,
        epochLoss: { ...this.epochLoss },
        logWindow: this.trainMeans.stateDict(),
        metrics: { ...this.callbackMetrics },
      },
    });
    this.lastSave = { path: dir, step: this.globalStep, resumable: !opts.weightsOnly };
  }

  private resetProgress(): void {
    this.globalStep = 0;
    this.currentEpoch = 0;
    this.batchIdx = 0;
    this.epochLoss = { sum: 0, count: 0 };
    this.trainMeans.reset();
    this.epochDone = false;
    this.stop = null;
    this.callbackMetrics = {};
    this.lastSave = null;
    this.fitClock = { carried: 0, started: 0, running: false };
  }

  private async trainLoop(
    module: TrainingModule<unknown>, loader: Loader<unknown>, valLoader: Loader<unknown> | undefined, nb: number, stepsPerEpoch: number, totalSteps: number,
  ): Promise<void> {
    // What the progress display counts to: maxSteps may end the run, and its last epoch, early.
    const epochs = Math.ceil(totalSteps / stepsPerEpoch);
    if (this.maxSteps >= 0 && this.globalStep >= this.maxSteps) this.stop ??= { reason: "max_steps", message: null };
    while (this.currentEpoch < this.maxEpochs && !this.stop) {
      if (this.batchIdx === 0) {
        this.epochLoss = { sum: 0, count: 0 };
        for (const cb of this.callbacks) await cb.onTrainEpochStart?.(this);
      }
      module.model.train();
      const batches = loader.iterate(this.currentEpoch, this.batchIdx)[Symbol.iterator]();
      const started = { time: performance.now(), steps: 0, samples: 0 };
      while (this.batchIdx < nb && !this.stop) {
        const { samples, loss } = await this.optimizerStep(module, batches, nb);
        started.steps++;
        started.samples += samples;
        const step = Math.ceil(this.batchIdx / this.accumulateGradBatches);
        this.progress.update({
          epoch: this.currentEpoch, maxEpochs: epochs, step, total: Math.min(stepsPerEpoch, totalSteps - (this.globalStep - step)),
          loss, elapsedSec: (performance.now() - started.time) / 1000, stepsDone: started.steps, samplesDone: started.samples,
        });
        if (valLoader && this.valDue(stepsPerEpoch)) await this.validateInFit(module, valLoader);
        for (const cb of this.callbacks) await cb.onTrainStepEnd?.(this);
        if (this.globalStep % FLUSH_LOGS_EVERY_N_STEPS === 0) await this.saveLogs();
        if (this.maxSteps >= 0 && this.globalStep >= this.maxSteps) this.stop ??= { reason: "max_steps", message: null };
      }
      if (this.batchIdx < nb) break;
      if (this.epochLoss.count) this.log({ train_loss_epoch: this.epochLoss.sum / this.epochLoss.count });
      this.epochDone = true;
      for (const cb of this.callbacks) await cb.onTrainEpochEnd?.(this);
      await this.saveLogs();
      this.currentEpoch++;
      this.batchIdx = 0;
      this.epochDone = false;
    }
  }

  /** One optimizer step over the next accumulation group of micro-batches. */
  private async optimizerStep(module: TrainingModule<unknown>, batches: Iterator<unknown>, nb: number): Promise<{ samples: number; loss: number }> {
    const groupStart = this.batchIdx;
    const groupEnd = Math.min(groupStart + this.accumulateGradBatches, nb);
    const groupSize = groupEnd - groupStart;
    const check = this.opts.checkNonFinite ?? true;
    let lossSum = 0, samples = 0;
    for (; this.batchIdx < groupEnd; this.batchIdx++) {
      const next = batches.next();
      if (next.done) throw new Error(`the training loader yielded only ${this.batchIdx} batches in epoch ${this.currentEpoch}, fewer than its length ${nb}`);
      const { loss, extras } = splitStepOutput(module.trainingStep(next.value, this.batchIdx));
      const value = loss.item();
      if (check && !Number.isFinite(value)) throw this.fault(`loss is ${value}`, [this.batchIdx, this.batchIdx]);
      (groupSize === 1 ? loss : scale(loss, 1 / groupSize)).backward();
      const size = batchSize(next.value);
      this.trainMeans.add({ loss: value, ...extras }, size);
      lossSum += value;
      samples += size;
      await yieldToEventLoop();
    }
    const optimizer = this.optimizer!;
    if (this.opts.gradientClipVal !== undefined) {
      const norm = clipGradNorm(optimizer.paramGroups.flatMap((g) => g.params), this.opts.gradientClipVal);
      if (check && !Number.isFinite(norm)) {
        throw this.gradFault([groupStart, groupEnd - 1]) ?? this.fault("the gradient norm is not finite", [groupStart, groupEnd - 1]);
      }
    } else if (check) {
      const fault = this.gradFault([groupStart, groupEnd - 1]);
      if (fault) throw fault;
    }
    this.stepLrs = optimizer.paramGroups.map((g) => g.lr);
    optimizer.step();
    this.scheduler?.step();
    optimizer.zeroGrad();
    this.globalStep++;
    const loss = lossSum / groupSize;
    this.epochLoss.sum += loss;
    this.epochLoss.count++;
    if (this.globalStep % this.logEveryNSteps === 0) {
      this.log(prefixed("train_", this.trainMeans.means()));
      this.trainMeans.reset();
    }
    return { samples, loss };
  }

  private valDue(stepsPerEpoch: number): boolean {
    const v = this.opts.valCheckInterval ?? 1;
    if (v > 1) return this.globalStep % Math.round(v) === 0;
    const stepInEpoch = Math.ceil(this.batchIdx / this.accumulateGradBatches);
    return stepInEpoch === stepsPerEpoch || stepInEpoch % Math.max(1, Math.round(v * stepsPerEpoch)) === 0;
  }

  private async validateInFit(module: TrainingModule<unknown>, loader: Loader<unknown>): Promise<void> {
    const metrics = await this.evaluate("val", module, loader);
    this.log(metrics);
    this.progress.message(`epoch ${this.currentEpoch} step ${this.globalStep}: ${formatMetrics(metrics)}`);
    for (const cb of this.callbacks) await cb.onValidationEnd?.(this);
    await this.saveLogs();
  }

  private async evaluateAndLog(stage: "val" | "test", module: TrainingModule<unknown>, loader: Loader<unknown>, opts: RunOptions): Promise<Metrics[]> {
    if (opts.ckptPath) await this.loadWeights(module.model, opts.ckptPath);
    const metrics = await this.evaluate(stage, module, loader);
    this.log(metrics);
    this.progress.message(`${stage === "val" ? "validation" : "test"}: ${formatMetrics(metrics)}`);
    await this.saveLogs();
    return [metrics];
  }

  private async evaluate(stage: "val" | "test", module: TrainingModule<unknown>, loader: Loader<unknown>): Promise<Metrics> {
    const step = stage === "val" ? module.validationStep : module.testStep;
    if (!step) throw new Error(`the module has no ${stage === "val" ? "validationStep" : "testStep"}`);
    const n = stage === "val" ? limitBatches(loader.length, this.opts.limitValBatches) : loader.length;
    const wasTraining = module.model.training;
    module.model.eval();
    try {
      (stage === "val" ? module.onValidationEpochStart : module.onTestEpochStart)?.call(module);
      const means = new WeightedMeans();
      let i = 0;
      for (const batch of loader.iterate(0)) {
        if (i >= n) break;
        const idx = i++;
        const out = noGrad(() => step.call(module, batch, idx));
        if (out) means.add(out, batchSize(batch));
        await yieldToEventLoop();
      }
      const end = (stage === "val" ? module.onValidationEpochEnd : module.onTestEpochEnd)?.call(module);
      return prefixed(`${stage}_`, { ...means.means(), ...(end ?? {}) });
    } finally {
      module.model.train(wasTraining);
    }
  }

  private async resume(path: string, nb: number): Promise<void> {
    const ck = await readCheckpoint(path);
    const model = this.module!.model;
    restoreWeights(model, ck.weights);
    restoreOptimizer(this.optimizer!, model, ck);
    if (ck.state.scheduler) {
      if (!this.scheduler) throw new Error(`${ck.dir}: the checkpoint has a learning-rate scheduler state but configureOptimizers returned no scheduler`);
      this.scheduler.loadStateDict(ck.state.scheduler);
    }
    const s = ck.state;
    if (s.batchIdx > nb || (s.batchIdx % this.accumulateGradBatches !== 0 && s.batchIdx !== nb)) {
      throw new Error(`${ck.dir}: saved at batch ${s.batchIdx} of an epoch, which does not fit ${nb} batches with accumulateGradBatches=${this.accumulateGradBatches}; resume with the settings it was trained with`);
    }
    defaultGenerator.setState(s.rng);
    if (s.loader) this.trainLoader!.loadStateDict?.(s.loader);
    this.globalStep = s.globalStep;
    this.fitClock.carried = s.fitSeconds ?? 0;
    this.currentEpoch = s.epoch;
    this.batchIdx = s.batchIdx;
    this.epochLoss = { ...s.epochLoss };
    this.trainMeans.loadStateDict(s.logWindow);
    this.callbackMetrics = { ...s.metrics };
    for (const cb of this.callbacks) {
      const saved = cb.stateKey ? s.callbacks[cb.stateKey] : undefined;
      if (saved !== undefined) cb.loadStateDict?.(saved);
    }
    this.lastSave = { path: ck.dir, step: s.globalStep, resumable: true };
    for (const l of this.loggers) await l.resumeAt?.(s.globalStep);
  }

  private async loadWeights(model: TrainingModule<unknown>["model"], ckptPath: string): Promise<void> {
    restoreWeights(model, (await readCheckpoint(this.resolveCkpt(ckptPath))).weights);
  }

  private resolveCkpt(ckptPath: string): string {
    if (ckptPath === "best") {
      const best = this.checkpointCallback?.bestModelPath;
      if (!best) throw new Error('ckptPath "best": no ModelCheckpoint has saved a checkpoint');
      return best;
    }
    if (ckptPath === "last") {
      if (!this.lastCheckpointPath) throw new Error('ckptPath "last": no checkpoint has been saved');
      return this.lastCheckpointPath;
    }
    return ckptPath;
  }

  private async saveInterrupted(): Promise<void> {
    if (!(this.lastSave?.resumable && this.lastSave.step === this.globalStep)) {
      await this.saveCheckpoint(join(this.checkpointCallback?.dirpath ?? join(this.opts.defaultRootDir ?? process.cwd(), "checkpoints"), LAST_NAME));
    }
    this.progress.message(`${this.stop!.message} at step ${this.globalStep} (epoch ${this.currentEpoch}); checkpoint saved to ${this.lastCheckpointPath}.`, true);
  }

  private fault(what: string, batches: [number, number]): NonFiniteError {
    this.optimizer?.zeroGrad();
    return nonFiniteError(what, {
      step: this.globalStep + 1,
      epoch: this.currentEpoch,
      batches,
      stepsDone: this.globalStep,
      baseLr: this.scheduler?.stateDict().baseLrs[0] ?? this.optimizer?.paramGroups[0].lr ?? NaN,
      clipping: this.opts.gradientClipVal !== undefined,
      clipName: this.opts.optionNames?.gradientClipVal ?? "gradientClipVal",
      lastCheckpoint: this.lastCheckpointPath,
    });
  }

  private gradFault(batches: [number, number]): NonFiniteError | null {
    const bad = firstNonFiniteGrad(this.optimizerParams);
    return bad ? this.fault(`the gradient of ${bad[0]} is ${bad[1]}`, batches) : null;
  }

  private async saveLogs(): Promise<void> {
    for (const l of this.loggers) await l.save?.();
  }
}

/** The up-front memory check of fit(), for loaders that say how big their batches get. */
function checkRunMemory(model: TrainingModule<unknown>["model"], loader: Loader<unknown>, optimizer: Optimizer<{ lr: number }>, limitBytes: number | undefined): void {
  const l = loader as Partial<{ batchSize: number; examples: readonly { inputIds: ArrayLike<number> }[] }>;
  if (typeof l.batchSize !== "number" || !Array.isArray(l.examples)) return;
  let seqLen = 1;
  for (const e of l.examples) seqLen = Math.max(seqLen, e.inputIds?.length ?? 0);
  const name = optimizer.constructor.name;
  const momentum = (optimizer.paramGroups[0] as { momentum?: number } | undefined)?.momentum ?? 0;
  const kind: TrainingRun["optimizer"] = /^adam/i.test(name) ? "adamw" : momentum !== 0 ? "sgd-momentum" : /^sgd$/i.test(name) ? "sgd" : "adamw";
  checkMemoryBudget(model, { batchSize: Math.max(1, Math.min(l.batchSize, l.examples.length)), seqLen, optimizer: kind }, { limitBytes });
}

export function splitStepOutput(out: TrainingStepOutput): { loss: Tensor; extras: Metrics } {
  if (out instanceof Tensor) return { loss: out, extras: {} };
  const extras: Metrics = {};
  for (const [k, v] of Object.entries(out)) if (k !== "loss") extras[k] = typeof v === "number" ? v : v.item();
  return { loss: out.loss, extras };
}

function batchSize(batch: unknown): number {
  const size = (batch as { size?: unknown } | null)?.size;
  return typeof size === "number" ? size : 1;
}

function limitBatches(length: number, limit: number | undefined): number {
  if (limit === undefined) return length;
  if (limit <= 1) return limit === 1 ? length : Math.max(1, Math.floor(limit * length));
  return Math.min(length, Math.floor(limit));
}

function prefixed(prefix: string, m: Metrics): Metrics {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [`${prefix}${k}`, v]));
}

function formatMetrics(m: Metrics): string {
  return Object.entries(m).map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(4)}`).join(" ");
}

function yieldToEventLoop(): Promise<void> {
  // Lets signal handlers and pending I/O run between steps; the loop is otherwise synchronous.
  return new Promise((resolve) => setImmediate(resolve));
}

// Training checkpoints: a directory holding
//   trainer_state.json     position (epoch, batch, global step), RNG states, scheduler, callback states, and the
//                          optimizer's step and hyperparameters (everything JSON-safe)
//   weights.safetensors    the trainable weights by dotted name (a PEFT adapter or a head: a few KB, not the model)
//   optimizer.safetensors  optimizer buffers keyed "<paramName>.<bufferName>" (absent for weights-only saves)
// A directory is written as <dir>.tmp and renamed into place, so a crash mid-write leaves the previous
// checkpoint whole (as <dir>, or as <dir>.old for the instant between the two renames).
import { mkdir, readFile, rename, rm } from "node:fs/promises";
import { exists } from "../io/exists.js";
import { join } from "node:path";
import type { DataLoaderState } from "../data/dataloader.js";
import { writeJsonAtomic } from "../io/atomic.js";
import type { RawTensor } from "../io/raw-tensor.js";
import { loadSafetensors, saveSafetensors } from "../io/safetensors.js";
import type { Module } from "../nn/index.js";
import type { Optimizer } from "../optim/index.js";
import { Tensor, type GeneratorState } from "../tensor/index.js";

export const STATE_FILE = "trainer_state.json";
export const WEIGHTS_FILE = "weights.safetensors";
export const OPTIMIZER_FILE = "optimizer.safetensors";
const FORMAT = 1;

export interface TrainerState {
  format: number;
  /** Where training continues: the epoch, and the next batch within it. */
  epoch: number;
  batchIdx: number;
  globalStep: number;
  /** Wall-clock seconds spent in fit so far, summed over earlier resumed runs (absent in older checkpoints). */
  fitSeconds?: number;
  rng: GeneratorState;
  loader?: DataLoaderState;
  optimizer?: { step: number; groups: Record<string, unknown>[]; params: string[][] };
  scheduler?: { lastStep: number; baseLrs: number[] };
  callbacks: Record<string, unknown>;
  /** Running sums behind train_loss_epoch and the next train_* log, so a resumed run logs the same values. */
  epochLoss: { sum: number; count: number };
  logWindow: Record<string, { sum: number; weight: number }>;
  metrics: Record<string, number>;
}

/** Models that save only part of themselves (PEFT adapters) implement this; the keys they return must load back
 *  through loadTrainableStateDict, or else through loadStateDict (non-strict). */
export interface CustomCheckpointWeights {
  trainableStateDict(): Map<string, Tensor>;
  loadTrainableStateDict?(weights: Map<string, Tensor>): void;
}

function customWeights(model: Module): CustomCheckpointWeights | null {
  return typeof (model as Partial<CustomCheckpointWeights>).trainableStateDict === "function" ? (model as unknown as CustomCheckpointWeights) : null;
}

/** The weights a checkpoint keeps: the model's own choice, else every parameter that requires grad. */
export function trainableWeights(model: Module): Map<string, Tensor> {
  const custom = customWeights(model);
  if (custom) return custom.trainableStateDict();
  return new Map([...model.namedParameters()].filter(([, p]) => p.requiresGrad));
}

export function restoreWeights(model: Module, weights: Map<string, Tensor>): void {
  const custom = customWeights(model);
  if (custom?.loadTrainableStateDict) { custom.loadTrainableStateDict(weights); return; }
  const { unexpectedKeys } = model.loadStateDict(weights, false);
  if (unexpectedKeys.length) throw new Error(`checkpoint weights do not fit this model: unknown keys ${unexpectedKeys.slice(0, 5).join(", ")}${unexpectedKeys.length > 5 ? ", ..." : ""}`);
}

export interface CheckpointContent {
  model: Module;
  optimizer?: Optimizer<{ lr: number }>;
  state: Omit<TrainerState, "format" | "optimizer">;
}

/** Checkpoint writes so far in this process, for the test hook below. */
let checkpointWrites = 0;

/**
 * Test hook, for proving crash safety (test/reliability/interrupted-training.test.ts, docs/reliability.md): with
 * FINETUNE_TEST_CHECKPOINT_PAUSE="<n>:<stage>" the n-th checkpoint write of the process stops at <stage>
 * ("after-weights": weights.safetensors written to <dir>.tmp; "before-rename": <dir>.tmp complete; "between-renames":
 * <dir> moved to <dir>.old, <dir>.tmp not yet renamed), says so on stderr and waits forever, so that a test can
 * SIGKILL the process at exactly that point. Without the variable it costs one lookup per checkpoint.
 */
async function testPause(stage: "after-weights" | "before-rename" | "between-renames", dir: string): Promise<void> {
  const spec = process.env.FINETUNE_TEST_CHECKPOINT_PAUSE;
  if (!spec || spec !== `${checkpointWrites}:${stage}`) return;
  process.stderr.write(`FINETUNE_TEST_CHECKPOINT_PAUSE: paused at ${stage} of checkpoint write ${checkpointWrites} (${dir})\n`);
  await new Promise(() => setInterval(() => undefined, 1 << 30));
}

export async function writeCheckpoint(dir: string, { model, optimizer, state }: CheckpointContent): Promise<void> {
  checkpointWrites++;
  const tmp = `${dir}.tmp`, old = `${dir}.old`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await saveSafetensors(join(tmp, WEIGHTS_FILE), rawMap(trainableWeights(model)));
  await testPause("after-weights", dir);
  const full: TrainerState = { format: FORMAT, ...state };
  if (optimizer) {
    const { json, buffers } = optimizerRecords(optimizer, model);
    full.optimizer = json;
    await saveSafetensors(join(tmp, OPTIMIZER_FILE), buffers);
  }
  await writeJsonAtomic(join(tmp, STATE_FILE), full);
  await testPause("before-rename", dir);
  if (await exists(dir)) {
    await rm(old, { recursive: true, force: true });
    await rename(dir, old);
  }
  await testPause("between-renames", dir);
  await rename(tmp, dir);
  await rm(old, { recursive: true, force: true });
}

export interface LoadedCheckpoint {
  dir: string;
  state: TrainerState;
  weights: Map<string, Tensor>;
  optimizerBuffers: Map<string, RawTensor> | null;
}

/** Where the checkpoint saved as `path` is: `path`, or `<path>.old` when a kill came between writeCheckpoint's two
 *  renames; null when there is none. */
export async function findCheckpoint(path: string): Promise<string | null> {
  for (const dir of [path, `${path}.old`]) if (await exists(join(dir, STATE_FILE))) return dir;
  return null;
}

export async function readCheckpoint(path: string): Promise<LoadedCheckpoint> {
  const dir = await findCheckpoint(path);
  if (!dir) throw new Error(`${path}: not a training checkpoint (no ${STATE_FILE})`);
  let state: TrainerState;
  try {
    state = JSON.parse(await readFile(join(dir, STATE_FILE), "utf8")) as TrainerState;
  } catch (e) {
    throw new Error(`${join(dir, STATE_FILE)}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof state !== "object" || state === null) throw new Error(`${join(dir, STATE_FILE)}: not a trainer state object`);
  if (state.format !== FORMAT) throw new Error(`${dir}: checkpoint format ${state.format} is not supported (expected ${FORMAT})`);
  const weights = new Map<string, Tensor>();
  for (const [name, raw] of (await loadSafetensors(join(dir, WEIGHTS_FILE))).tensors) weights.set(name, toTensor(raw));
  const optimizerBuffers = state.optimizer ? (await loadSafetensors(join(dir, OPTIMIZER_FILE))).tensors : null;
  return { dir, state, weights, optimizerBuffers };
}

/** Puts saved optimizer state back; the optimizer must be built over the same named parameters. */
export function restoreOptimizer(optimizer: Optimizer<{ lr: number }>, model: Module, ck: LoadedCheckpoint): void {
  const saved = ck.state.optimizer;
  if (!saved || !ck.optimizerBuffers) throw new Error(`${ck.dir}: the checkpoint has no optimizer state (saved weights-only), so training cannot resume from it`);
  const names = paramNames(optimizer, model);
  if (JSON.stringify(names) !== JSON.stringify(saved.params)) {
    throw new Error(`${ck.dir}: the checkpoint's optimizer was built over different parameters (${saved.params.flat().length} saved, ${names.flat().length} now)`);
  }
  const state: Record<string, ArrayLike<number>>[] = names.flat().map((name) => {
    const bufs: Record<string, ArrayLike<number>> = {};
    for (const [key, raw] of ck.optimizerBuffers!) {
      const rest = key.startsWith(`${name}.`) ? key.slice(name.length + 1) : null;
      if (rest && !rest.includes(".")) bufs[rest] = raw.data as Float32Array | Float64Array;
    }
    return bufs;
  });
  optimizer.loadStateDict({ step: saved.step, groups: saved.groups, state });
}

function optimizerRecords(optimizer: Optimizer<{ lr: number }>, model: Module) {
  const names = paramNames(optimizer, model);
  const sd = optimizer.stateDict();
  const params = optimizer.paramGroups.flatMap((g) => g.params);
  const buffers = new Map<string, RawTensor>();
  names.flat().forEach((name, i) => {
    const p = params[i];
    for (const [buf, values] of Object.entries(sd.state[i])) {
      buffers.set(`${name}.${buf}`, { dtype: values instanceof Float64Array ? "F64" : "F32", shape: p.shape, data: values });
    }
  });
  return { json: { step: sd.step, groups: sd.groups, params: names }, buffers };
}

function paramNames(optimizer: Optimizer<{ lr: number }>, model: Module): string[][] {
  const byTensor = new Map<Tensor, string>();
  for (const [name, p] of model.namedParameters()) byTensor.set(p, name);
  return optimizer.paramGroups.map((g) => g.params.map((p) => {
    const name = byTensor.get(p);
    if (name === undefined) throw new Error(`the optimizer holds a parameter of shape [${p.shape}] that is not in the module's model`);
    return name;
  }));
}

function rawMap(tensors: Map<string, Tensor>): Map<string, RawTensor> {
  const out = new Map<string, RawTensor>();
  for (const [name, t] of tensors) {
    if (t.dtype === "int32") out.set(name, { dtype: "I32", shape: t.shape, data: t.data as Int32Array });
    else out.set(name, { dtype: t.dtype === "float64" ? "F64" : "F32", shape: t.shape, data: t.data as Float32Array | Float64Array });
  }
  return out;
}

function toTensor(raw: RawTensor): Tensor {
  if (raw.dtype === "F32" || raw.dtype === "F64" || raw.dtype === "I32") return new Tensor(raw.data as Float32Array | Float64Array | Int32Array, raw.shape);
  throw new Error(`checkpoint tensor of dtype ${raw.dtype}: only F32, F64 and I32 are written by the trainer`);
}


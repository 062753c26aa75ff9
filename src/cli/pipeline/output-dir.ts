// What a training run leaves in --output: the trained artifact in its usual format (a transformers model
// folder, a PEFT adapter, or a classifier file), the tokenizer, metrics.json, and finetune.json, which
// records how to use the artifact again (method, base model, labels, max length, feature settings).
// These are one set, replaced as a whole (src/io/file-set.ts), in a folder a run locks while it writes it and
// that holds nothing but finetune's own output unless --overwrite.
import { mkdir, readFile, readdir, realpath, rm, stat } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import { isAtomicTempFile, writeJsonAtomic } from "../../io/atomic.js";
import { fileSystemError } from "../../io/errors.js";
import { finishFileSet, replaceFileSet, type FileSetMember } from "../../io/file-set.js";
import { SAVED_WEIGHT_FILES } from "../../io/model-weights.js";
import { LOCK_FILE, lockFolder, type FolderLock } from "../../io/folder-lock.js";
import { warn } from "../../warnings/index.js";
import { UsageError } from "../command.js";
import type { LogisticRegression, MLPClassifier, Pooling } from "../../methods/index.js";
import type { PreTrainedModel } from "../../models/index.js";
import type { PeftModel } from "../../peft/index.js";
import type { PreTrainedTokenizer } from "../../tokenizers/index.js";
import type { MethodName, MethodOptions, Task } from "../methods.js";

export const SETTINGS_FILE = "finetune.json";
export const METRICS_FILE = "metrics.json";
export const CLASSIFIER_FILE = "classifier.safetensors";
const FORMAT = 1;

export interface RunSettings {
  format: number;
  method: MethodName;
  task: Task;
  /** The pretrained model the run started from (adapters and feature-based outputs need it again). */
  baseModel: string;
  /** seq-cls: class names in id order. */
  labelNames: string[] | null;
  maxLength: number;
  methodOptions: MethodOptions;
  /** feature-based: how texts became vectors. */
  pooling: Pooling | null;
}

export type Artifact =
  | { kind: "model"; model: PreTrainedModel }
  | { kind: "adapter"; model: PeftModel }
  | { kind: "feature"; classifier: LogisticRegression | MLPClassifier };

const ARTIFACT_FILES = {
  model: ["config.json", "model.safetensors"],
  adapter: ["adapter_config.json", "adapter_model.safetensors"],
  feature: [CLASSIFIER_FILE],
};

/** Every file an artifact set of any kind may hold: what a new set lacks of these is removed, so a LoRA run written
 *  over a full fine-tune's output leaves no model.safetensors for `predict` to find. */
export const ARTIFACT_SET: readonly FileSetMember[] = [
  ...Object.values(ARTIFACT_FILES).flat(), ...SAVED_WEIGHT_FILES, "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
  SETTINGS_FILE, METRICS_FILE,
];

/** Replaces the artifact set in `dir` with the artifact, tokenizer, settings and metrics; returns the artifact's
 *  size on disk in bytes. `metrics` receives that size. */
export async function saveOutput(
  dir: string, artifact: Artifact, tokenizer: PreTrainedTokenizer, settings: Omit<RunSettings, "format">, metrics: (artifactBytes: number) => object,
): Promise<number> {
  await mkdir(dir, { recursive: true }).catch((e: unknown) => { throw fileSystemError(e, dir, "creating the output folder"); });
  let bytes = 0;
  await replaceFileSet(dir, ARTIFACT_SET, async (folder) => {
    if (artifact.kind === "feature") await artifact.classifier.save(join(folder, CLASSIFIER_FILE));
    else await artifact.model.savePretrained(folder);
    await tokenizer.savePretrained(folder);
    await writeJsonAtomic(join(folder, SETTINGS_FILE), { format: FORMAT, ...settings });
    for (const f of ARTIFACT_FILES[artifact.kind]) bytes += (await stat(join(folder, f))).size;
    await writeJsonAtomic(join(folder, METRICS_FILE), metrics(bytes));
  });
  return bytes;
}

/** What writes an output folder; a folder written by one is not silently reused by another. */
export type OutputKind = "train" | "compare" | "merge" | "pretrain";

/** Names the kind of output a folder holds, so a later run can tell its own kind from a user's files. */
const MARKER_FILE = ".finetune-output.json";
/** Outputs written before the marker existed, told apart by their files. */
const LEGACY_SIGNS: Record<OutputKind, string[]> = { train: [SETTINGS_FILE, "train-args.json"], compare: ["report.json"], merge: [], pretrain: ["metrics.csv"] };

export interface PrepareOutputOptions {
  kind: OutputKind;
  /** Empty the folder first, whatever it holds. */
  overwrite?: boolean;
  /** Files and folders the run reads: the output may not be one of them, nor (with overwrite) hold one. */
  inputs: (string | undefined)[];
}

/**
 * Makes `dir` ready for a run and locks it: refuses the folder of an input, and a folder holding anything but an
 * output of the same kind unless `overwrite` (which empties it); finishes or drops a save that a kill interrupted;
 * removes temp files killed writes left. Release the lock when the run ends.
 */
export async function prepareOutput(dir: string, o: PrepareOutputOptions): Promise<FolderLock> {
  await refuseInputs(dir, o.inputs, o.overwrite ?? false);
  if (await stat(dir).then((s) => !s.isDirectory(), () => false)) throw new UsageError(`--output ${dir} is a file, not a folder`);
  const lock = await lockOutput(dir, `finetune ${o.kind}`);
  try {
    const entries = (await readdir(dir)).filter((n) => n !== LOCK_FILE);
    const kind = await kindOf(dir, entries);
    if (o.overwrite) {
      for (const n of entries) await rm(join(dir, n), { recursive: true, force: true });
    } else if (entries.length > 0 && kind !== o.kind) {
      const shown = entries.slice(0, 4).join(", ") + (entries.length > 4 ? `, ... (${entries.length} entries)` : "");
      throw new UsageError(`--output ${dir} already holds ${kind === null ? "files" : `a finetune ${kind} output`} (${shown}); ` +
        `choose an empty or new folder, or pass --overwrite to delete what it holds`);
    } else {
      await finishFileSet(dir, ARTIFACT_SET);
      for (const n of entries) if (isAtomicTempFile(n)) await rm(join(dir, n), { force: true });
    }
    await writeJsonAtomic(join(dir, MARKER_FILE), { kind: o.kind });
    return lock;
  } catch (e) {
    await lock.release();
    throw e;
  }
}

/**
 * Makes `file` ready to be written whole (writeAtomic: a temp file beside it, renamed over it) and locks its folder:
 * refuses an input of the run and, unless `overwrite`, an existing file; removes temp files of killed writes of it.
 */
export async function prepareOutputFile(file: string, o: { command: string; overwrite?: boolean; inputs: (string | undefined)[] }): Promise<FolderLock> {
  await refuseInputs(file, o.inputs, false);
  const existing = await stat(file).catch(() => null);
  if (existing?.isDirectory()) throw new UsageError(`--output ${file} is a folder; give the file to write`);
  if (existing && !o.overwrite) throw new UsageError(`--output ${file} already exists; pass --overwrite to replace it, or choose another file`);
  const dir = dirname(resolve(file));
  const lock = await lockOutput(dir, o.command);
  try {
    const mine = `.${basename(file)}.`;
    for (const n of await readdir(dir)) if (n.startsWith(mine) && isAtomicTempFile(n)) await rm(join(dir, n), { force: true });
    return lock;
  } catch (e) {
    await lock.release();
    throw fileSystemError(e, dir, "preparing the output");
  }
}

/** An output may not be an input of the run, nor (when `overwrite` empties it) hold one. */
async function refuseInputs(output: string, inputs: (string | undefined)[], overwrite: boolean): Promise<void> {
  const out = await canonical(output);
  for (const input of inputs) {
    if (input === undefined) continue;
    const path = await canonical(input);
    if (path === out) throw new UsageError(`--output ${output} is also an input of this run (${input}); writing there would overwrite it, so choose another`);
    if (overwrite && !relative(out, path).startsWith("..")) throw new UsageError(`--overwrite would delete ${input}, which this run reads; choose another --output`);
  }
}

async function lockOutput(dir: string, command: string): Promise<FolderLock> {
  await mkdir(dir, { recursive: true }).catch((e: unknown) => { throw fileSystemError(e, dir, "creating the output folder"); });
  return lockFolder(dir, { onStale: (m) => warn(m, "FINETUNE_STALE_LOCK"), command });
}

/** Finishes a save that was killed after its commit point, so a reader sees one whole set (see src/io/file-set.ts). */
export async function finishInterruptedSave(dir: string): Promise<void> {
  await finishFileSet(dir, ARTIFACT_SET).catch(() => undefined);
}

async function kindOf(dir: string, entries: string[]): Promise<OutputKind | null> {
  const marker = await readFile(join(dir, MARKER_FILE), "utf8").then((t) => (JSON.parse(t) as { kind?: OutputKind }).kind ?? null, () => null);
  if (marker) return marker;
  const found = (Object.keys(LEGACY_SIGNS) as OutputKind[]).find((k) => LEGACY_SIGNS[k].some((f) => entries.includes(f)));
  return found ?? null;
}

/** The real path of a file or folder (of its nearest existing parent, for one that does not exist yet). */
async function canonical(path: string): Promise<string> {
  const abs = resolve(path);
  const real = await realpath(abs).catch(() => null);
  if (real !== null) return real;
  const parent = resolve(abs, "..");
  return parent === abs ? abs : join(await canonical(parent), relative(parent, abs));
}

/** finetune.json of an output folder, or null for folders finetune did not write. */
export async function readSettings(dir: string): Promise<RunSettings | null> {
  const file = join(dir, SETTINGS_FILE);
  const text = await readFile(file, "utf8").catch(() => null);
  if (text === null) return null;
  let s: Partial<RunSettings>;
  try {
    s = JSON.parse(text) as Partial<RunSettings>;
  } catch (e) {
    throw new Error(`${file}: invalid JSON (${(e as Error).message})`);
  }
  if (s.format !== FORMAT) throw new Error(`${file}: format ${JSON.stringify(s.format)} is not supported (expected ${FORMAT})`);
  for (const k of ["method", "task", "baseModel", "maxLength"] as const) if (s[k] === undefined) throw new Error(`${file}: field "${k}" is missing`);
  return s as RunSettings;
}

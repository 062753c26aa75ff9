// train-args.json: the flags of a run and a digest of its training rows, kept in its output folder so that
// `--resume` needs nothing but --output, and continues a checkpoint only on the run it belongs to. Paths are stored
// absolute, so a resume from another working directory reads the same files.
import { createHash } from "node:crypto";
import { readFile, rm, stat } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import { writeJsonAtomic } from "../../io/atomic.js";
import { warn } from "../../warnings/index.js";
import { flagsFromObject, kebab, type FlagTable, type FlagValues } from "../args.js";
import { UsageError } from "../command.js";

export const RECORD_FILE = "train-args.json";
const FORMAT = 2;

/** Flags that name files or folders (a value that exists locally is stored absolute). */
const PATH_FLAGS = ["model", "tokenizer", "train", "validation", "test", "data", "chatTemplate", "cacheDir", "output"];
/** Flags a resumed run may change: how long it trains, what it is scored on, where the hub cache is. */
const MAY_CHANGE = new Set(["epochs", "maxSteps", "validation", "test", "cacheDir", "output", "resume", "overwrite", "config"]);

export interface RunRecord<V> {
  flags: V;
  /** sha256 of the training rows (null in files written before it was recorded). */
  trainData: string | null;
  file: string;
}

/** The run recorded in `dir`, for --resume. */
export async function readRunRecord<T extends FlagTable>(dir: string, table: T): Promise<RunRecord<FlagValues<T>>> {
  if (!(await stat(dir).then((s) => s.isDirectory(), () => false))) throw new UsageError(`--resume: ${dir} does not exist, so there is no run to continue`);
  const file = join(dir, RECORD_FILE);
  const text = await readFile(file, "utf8").catch(() => null);
  if (text === null) throw new UsageError(`--resume: ${dir} holds no ${RECORD_FILE}, so it is not a run finetune train started; run without --resume`);
  let doc: { format?: number; flags?: Record<string, unknown>; trainData?: string };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch (e) {
    throw new UsageError(`${file}: invalid JSON (${(e as Error).message})`);
  }
  // Before format 2 the file was the flags alone, with paths as typed.
  const legacy = doc.format === undefined;
  if (!legacy && doc.format !== FORMAT) throw new UsageError(`${file}: format ${JSON.stringify(doc.format)} is not supported (expected ${FORMAT})`);
  const raw = legacy ? (doc as Record<string, unknown>) : doc.flags;
  if (typeof raw !== "object" || raw === null) throw new UsageError(`${file}: field "flags" is missing`);
  if (legacy) warn(`${file} was written by an older finetune-ts, without a digest of the training data; the data cannot be checked`, "FINETUNE_RESUME");
  return { flags: flagsFromObject(raw, table, file), trainData: legacy ? null : (doc.trainData ?? null), file };
}

/**
 * The flags of a resumed run: the recorded ones with the command line's on top, refused when the command line
 * changes anything the checkpoint depends on (all such differences named).
 */
export async function resumedFlags<V extends Record<string, unknown>>(record: RunRecord<Record<string, unknown>>, given: V): Promise<V> {
  const now = await absolutePaths(given);
  const differ = Object.keys(now).filter((k) => !MAY_CHANGE.has(k) && now[k] !== undefined && JSON.stringify(now[k]) !== JSON.stringify(record.flags[k]));
  if (differ.length) {
    const show = (v: unknown) => (v === undefined ? "not given" : Array.isArray(v) ? v.join(",") : String(v));
    throw new UsageError(`--resume: the checkpoint in ${resolve(String(given.output))} was trained with other settings: ` +
      `${differ.map((k) => `--${kebab(k)} ${show(now[k])} (recorded: ${show(record.flags[k])})`).join("; ")}; ` +
      "drop these flags to continue it, or run without --resume to start over");
  }
  return { ...record.flags, ...now } as V;
}

/** Refuses to continue a checkpoint on training rows other than the ones it was trained on. */
export function checkResumedData(record: RunRecord<unknown>, digest: string): void {
  if (record.trainData !== null && record.trainData !== digest) {
    throw new UsageError(`--resume: the training data differs from the data the checkpoint was trained on (its sha256 was ${record.trainData.slice(0, 12)}..., ` +
      `now ${digest.slice(0, 12)}...): a data file changed since; restore it, or run without --resume to start over`);
  }
}

/** Starts a new run in `dir`: the previous run's checkpoints and logs go (a later --resume must not continue them),
 *  then the new run's flags and data digest are recorded. */
export async function recordNewRun<V extends Record<string, unknown>>(dir: string, flags: V, trainData: string): Promise<void> {
  for (const old of ["checkpoints", "logs", RECORD_FILE]) await rm(join(dir, old), { recursive: true, force: true });
  await writeJsonAtomic(join(dir, RECORD_FILE), { format: FORMAT, flags: await absolutePaths(flags), trainData });
}

/** sha256 of rows, in order. */
export function rowsDigest(rows: readonly unknown[]): string {
  const hash = createHash("sha256");
  for (const r of rows) hash.update(`${JSON.stringify(r)}\n`);
  return hash.digest("hex");
}

async function absolutePaths<V extends Record<string, unknown>>(v: V): Promise<V> {
  const out: Record<string, unknown> = { ...v };
  for (const k of PATH_FLAGS) {
    const p = out[k];
    if (typeof p === "string" && !isAbsolute(p) && (await stat(p).then(() => true, () => false))) out[k] = resolve(p);
  }
  return out as V;
}

import { readdir, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { writeJsonAtomic } from "./atomic.js";
import { FileFormatError } from "./errors.js";
import { isMember, type FileSetMember } from "./file-set.js";
import type { RawTensor, TensorFileContent } from "./raw-tensor.js";
import { loadSafetensors, saveSafetensors } from "./safetensors.js";
import { readShardIndex } from "./shard-index.js";
import { loadPytorchBin } from "./torch-bin.js";

const SAFETENSORS_INDEX = "model.safetensors.index.json";
/** transformers' shard names: model-00001-of-00003.safetensors. */
const SHARD_NAME = /^model-\d{5}-of-\d{5}\.safetensors$/;

/** The names saveModelWeights may write: what a new save replaces. */
export const SAVED_WEIGHT_FILES: readonly FileSetMember[] = ["model.safetensors", SAFETENSORS_INDEX, SHARD_NAME];
export const isSavedWeightFile = (name: string): boolean => isMember(name, SAVED_WEIGHT_FILES);

/** The weight files transformers looks for, in its order of preference. */
export const WEIGHT_FILES = [
  "model.safetensors",
  "model.safetensors.index.json",
  "pytorch_model.bin",
  "pytorch_model.bin.index.json",
] as const;

export interface LoadModelWeightsOptions {
  /** safetensors files: read each tensor when its data is first used (see LoadSafetensorsOptions.lazy). */
  lazy?: boolean;
}

/** Loads the model weights of a local model directory (or hub snapshot folder), whichever format it holds. */
export async function loadModelWeights(dir: string, opts: LoadModelWeightsOptions = {}): Promise<TensorFileContent> {
  const safetensors = (path: string) => loadSafetensors(path, { lazy: opts.lazy });
  for (const name of WEIGHT_FILES) {
    const path = join(dir, name);
    if (!(await isFile(path))) continue;
    if (name === "model.safetensors") return safetensors(path);
    if (name === "pytorch_model.bin") return loadPytorchBin(path);
    return loadSharded(path, name.startsWith("model.safetensors") ? safetensors : loadPytorchBin);
  }
  throw new Error(`${dir}: no model weights found (looked for ${WEIGHT_FILES.join(", ")})`);
}

/** `dirOrIndex`: a directory holding model.safetensors.index.json, or the index file itself. */
export async function loadSafetensorsSharded(dirOrIndex: string): Promise<TensorFileContent> {
  const index = (await isFile(dirOrIndex)) ? dirOrIndex : join(dirOrIndex, SAFETENSORS_INDEX);
  return loadSharded(index, loadSafetensors);
}

async function loadSharded(indexPath: string, loadShard: (path: string) => Promise<TensorFileContent>): Promise<TensorFileContent> {
  const { weightMap, shards } = await readShardIndex(indexPath);
  const tensors = new Map<string, RawTensor>();
  const metadata: Record<string, string> = {};
  const owner = new Map<string, string>();
  for (const shard of shards) {
    const content = await loadShard(join(dirname(indexPath), shard));
    Object.assign(metadata, content.metadata);
    for (const [name, t] of content.tensors) {
      const first = owner.get(name);
      if (first !== undefined) throw new FileFormatError(indexPath, `tensor "${name}" is in both shards ${first} and ${shard}`);
      owner.set(name, shard);
      tensors.set(name, t);
    }
  }
  for (const [name, shard] of weightMap) {
    if (owner.get(name) !== shard) throw new FileFormatError(indexPath, `tensor "${name}" is listed in shard ${shard} but not found there`);
  }
  return { tensors, metadata };
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

export interface SaveModelWeightsOptions {
  /** The largest shard, in bytes or as transformers' max_shard_size writes it ("20MB" = 20·10⁶ bytes, "20MiB" =
   *  20·2²⁰). Weights larger than this are split over model-0000i-of-0000n.safetensors files with a
   *  model.safetensors.index.json, in the model's tensor order; a tensor is never split, so one larger than the
   *  limit is a shard by itself. Default: one model.safetensors whatever its size. */
  maxShardSize?: number | string;
}

/**
 * Writes a model's weights into `dir` as transformers' save_pretrained does: one model.safetensors, or shards and
 * their index. Weight files of an earlier save that the new set does not contain are removed afterwards, so a
 * reader (which prefers model.safetensors to an index) never mixes two saves. Returns the file names written.
 */
export async function saveModelWeights(dir: string, tensors: Map<string, RawTensor>, opts: SaveModelWeightsOptions = {}): Promise<string[]> {
  const limit = opts.maxShardSize === undefined ? Infinity : parseByteSize(opts.maxShardSize, "maxShardSize");
  // huggingface_hub's split: a tensor above the limit is a shard by itself, the others fill shards in order.
  const shards: Map<string, RawTensor>[] = [];
  let current = new Map<string, RawTensor>();
  let size = 0;
  for (const [name, t] of tensors) {
    const bytes = t.data.byteLength;
    if (bytes > limit) {
      shards.push(new Map([[name, t]]));
      continue;
    }
    if (size + bytes > limit) {
      shards.push(current);
      current = new Map();
      size = 0;
    }
    current.set(name, t);
    size += bytes;
  }
  if (current.size > 0 || shards.length === 0) shards.push(current);
  const written: string[] = [];
  if (shards.length === 1) {
    await saveSafetensors(join(dir, "model.safetensors"), shards[0]!);
    written.push("model.safetensors");
  } else {
    const weightMap: Record<string, string> = {};
    let totalSize = 0;
    const pad = (i: number) => String(i).padStart(5, "0");
    for (const [i, shard] of shards.entries()) {
      const file = `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`;
      await saveSafetensors(join(dir, file), shard);
      for (const [name, t] of shard) {
        weightMap[name] = file;
        totalSize += t.data.byteLength;
      }
      written.push(file);
    }
    const sorted = Object.fromEntries(Object.keys(weightMap).sort().map((k) => [k, weightMap[k]]));
    await writeJsonAtomic(join(dir, SAFETENSORS_INDEX), { metadata: { total_size: totalSize }, weight_map: sorted });
    written.push(SAFETENSORS_INDEX);
  }
  for (const name of await readdir(dir)) {
    if (isSavedWeightFile(name) && !written.includes(name)) await rm(join(dir, name), { force: true });
  }
  return written;
}

const UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };

/** A size in bytes: a number, or a number with a unit as transformers writes them ("500KB", "20MB", "5GiB"). */
export function parseByteSize(value: number | string, what: string): number {
  let bytes = NaN;
  if (typeof value === "number") bytes = value;
  else {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
    const unit = m ? UNITS[(m[2] || "b").toLowerCase()] : undefined;
    if (m && unit !== undefined) bytes = Number(m[1]) * unit;
  }
  if (!(bytes >= 1 && Number.isFinite(bytes))) {
    throw new RangeError(`${what}: expected a positive size in bytes or with a unit (e.g. "20MB", "5GiB"), got ${JSON.stringify(value)}`);
  }
  return Math.floor(bytes);
}

import { stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { FileFormatError } from "./errors.js";
import type { RawTensor, TensorFileContent } from "./raw-tensor.js";
import { loadSafetensors } from "./safetensors.js";
import { readShardIndex } from "./shard-index.js";
import { loadPytorchBin } from "./torch-bin.js";

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
  const index = (await isFile(dirOrIndex)) ? dirOrIndex : join(dirOrIndex, "model.safetensors.index.json");
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

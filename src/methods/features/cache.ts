// Features on disk, keyed by everything that determines them, so a rerun of the feature-based approach
// skips the expensive forward passes.
import { createHash } from "node:crypto";
import { mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { loadSafetensors, saveSafetensors } from "../../io/safetensors.js";
import type { PreTrainedModel } from "../../models/pretrained.js";
import { Tensor } from "../../tensor/index.js";
import type { Pooling } from "./pooling.js";

/** Bumped whenever the meaning of cached features changes. */
const FORMAT = "finetune-ts/features/1";

/** sha256 over the model's config and every tensor of its state dict: two models with the same weights
 *  share cached features; changing one weight changes the digest. */
export function modelDigest(model: PreTrainedModel): string {
  const h = createHash("sha256");
  h.update(JSON.stringify(model.config));
  const entries = [...model.stateDict()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, t] of entries) {
    h.update(`\0${name}\0${t.dtype}\0${t.shape.join(",")}\0`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest("hex");
}

/** The token ids stand for the texts, the tokenizer and its settings, and maxLength: whatever changes
 *  what the model reads changes the key, and nothing else does. */
export function featureCacheKey(model: PreTrainedModel, pooling: Pooling, inputIds: number[][]): string {
  const h = createHash("sha256");
  h.update(`${FORMAT}\0${modelDigest(model)}\0${pooling}\0${inputIds.length}\0`);
  for (const row of inputIds) h.update(`${row.join(",")}\n`);
  return h.digest("hex");
}

export function cachePath(cacheDir: string, key: string): string {
  return join(cacheDir, `features-${key}.safetensors`);
}

/** The cached [rows, hidden] features, or null when absent or unreadable (then they are recomputed). */
export async function readCachedFeatures(path: string, rows: number): Promise<Tensor | null> {
  if (!(await stat(path).then((s) => s.isFile(), () => false))) return null;
  try {
    const { tensors, metadata } = await loadSafetensors(path);
    const t = tensors.get("features");
    if (metadata.format_version !== FORMAT || t?.dtype !== "F32" || t.shape.length !== 2 || t.shape[0] !== rows) return null;
    return new Tensor(t.data as Float32Array, t.shape);
  } catch {
    return null;
  }
}

export async function writeCachedFeatures(path: string, cacheDir: string, features: Tensor, pooling: Pooling): Promise<void> {
  await mkdir(cacheDir, { recursive: true });
  await saveSafetensors(path, { features: { dtype: "F32", shape: [...features.shape], data: features.toFloat32Array() } },
    { format_version: FORMAT, pooling });
}

import { readFile } from "node:fs/promises";
import { FileFormatError } from "./errors.js";

// model.safetensors.index.json / pytorch_model.bin.index.json: {"metadata": {...}, "weight_map": {tensor: shard file}}.
// Shard names come from a downloaded file and become paths, so only plain file names are accepted.

export interface ShardIndex {
  weightMap: Map<string, string>;
  /** Distinct shard file names, in first-seen order. */
  shards: string[];
}

export function parseShardIndex(text: string, path: string): ShardIndex {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new FileFormatError(path, `invalid JSON (${(err as Error).message})`);
  }
  const map = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== "object" || map === null || Array.isArray(map)) throw new FileFormatError(path, "no weight_map object");
  const weightMap = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(map)) {
    if (typeof shard !== "string" || !isPlainFileName(shard)) {
      throw new FileFormatError(path, `weight_map entry "${tensor}" names an invalid shard file ${JSON.stringify(shard)}`);
    }
    weightMap.set(tensor, shard);
  }
  return { weightMap, shards: [...new Set(weightMap.values())] };
}

export async function readShardIndex(path: string): Promise<ShardIndex> {
  return parseShardIndex(await readFile(path, "utf8"), path);
}

export function isPlainFileName(name: string): boolean {
  return name.length > 0 && name !== "." && name !== ".." && !/[/\\\0]/.test(name) && !/^[A-Za-z]:/.test(name);
}

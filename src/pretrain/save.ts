// Saving a pretrained model in Hugging Face layout, optionally as float16 (half the bytes; fromPretrained
// and transformers both read F16 back into their own precision).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeJsonAtomic } from "../io/atomic.js";
import { fromFloat32, toFloat32, type RawTensor } from "../io/raw-tensor.js";
import { saveSafetensors } from "../io/safetensors.js";
import type { PreTrainedModel } from "../models/pretrained.js";
import { hfStateDict } from "../models/weights.js";

export type SaveDtype = "float32" | "float16";

/** What a pretraining run's output holds of the model and its tokenizer: the set replaced as a whole. */
export const PRETRAIN_FILES = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"];

export async function saveModel(model: PreTrainedModel, dir: string, dtype: SaveDtype = "float32"): Promise<void> {
  await model.savePretrained(dir);
  if (dtype === "float32") return;
  const half = new Map<string, RawTensor>();
  for (const [name, t] of hfStateDict(model)) half.set(name, fromFloat32(toFloat32(t), t.shape, "F16"));
  await saveSafetensors(join(dir, "model.safetensors"), half, { format: "pt" });
  const configFile = join(dir, "config.json");
  const config = JSON.parse(await readFile(configFile, "utf8")) as Record<string, unknown>;
  await writeJsonAtomic(configFile, { ...config, torch_dtype: "float16" });
}

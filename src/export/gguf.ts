// A model and its tokenizer as one GGUF file for llama.cpp (and Ollama, LM Studio): the model's tensors and
// hyperparameters (../models/gguf.ts) with the tokenizer's vocabulary (../tokenizers/gguf.ts).
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeGguf } from "../io/gguf.js";
import { ggufExport, type GgufDtype } from "../models/gguf.js";
import type { PreTrainedModel } from "../models/index.js";
import { readJsonObject } from "../tokenizers/config.js";
import { tokenizerToGguf } from "../tokenizers/gguf.js";
import type { PreTrainedTokenizer } from "../tokenizers/index.js";
import { parseTokenizerJson } from "../tokenizers/tokenizer-json.js";

export interface SaveGgufOptions {
  /** f32, f16 (default) or q8_0, as llama.cpp's --outtype. */
  dtype?: GgufDtype;
  /** general.name. */
  name?: string;
  /** Receives notes on what llama.cpp may do differently (an unknown pre-tokenizer). */
  onWarning?: (message: string) => void;
}

/** Writes `model` (a causal LM; merge adapters first) and `tokenizer` as a GGUF file; returns the tensor count. */
export async function saveGguf(model: PreTrainedModel, tokenizer: PreTrainedTokenizer, path: string, opts: SaveGgufOptions = {}): Promise<number> {
  const entries = await tokenizerEntries(tokenizer, model.shape().vocabSize, opts.onWarning);
  const { metadata, tensors } = ggufExport(model, { dtype: opts.dtype ?? "f16", name: opts.name ?? model.constructor.name, tokenizer: entries });
  await writeGguf(path, metadata, tensors);
  return tensors.length;
}

/** tokenizer.* metadata, read from the tokenizer as savePretrained writes it (its tokenizer.json and config). */
async function tokenizerEntries(tokenizer: PreTrainedTokenizer, vocabSize: number, onWarning?: (m: string) => void) {
  const dir = await mkdtemp(join(tmpdir(), "finetune-gguf-"));
  try {
    await tokenizer.savePretrained(dir);
    const file = join(dir, "tokenizer.json");
    const doc = parseTokenizerJson(await readFile(file, "utf8"), file);
    const config = (await readJsonObject(join(dir, "tokenizer_config.json"))) ?? {};
    return await tokenizerToGguf(tokenizer, doc, config, { vocabSize, onWarning });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

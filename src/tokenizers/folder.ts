// Where a model's tokenizer files are: its own folder, or the hub snapshot they are downloaded into.
import { stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { isGgufFile } from "../io/gguf.js";
import { resolveModelFile, type HubOptions } from "../io/hub.js";

/** Any one of these makes a folder a tokenizer folder for AutoTokenizer. */
export const TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json"];

/** The folder holding the tokenizer of `ref` (a model folder or hub id), or null when it has none. A GGUF file holds
 *  its own tokenizer: it is returned as is. */
export async function tokenizerFolder(ref: string, hub: HubOptions = {}): Promise<string | null> {
  if ((await stat(ref).then((s) => s.isFile(), () => false)) && isGgufFile(ref)) return ref;
  if (await stat(ref).then((s) => s.isDirectory(), () => false)) {
    for (const f of TOKENIZER_FILES) if (await stat(resolve(ref, f)).then((s) => s.isFile(), () => false)) return ref;
    return null;
  }
  let found: string | null = null;
  // Every file is fetched, not just the first found: AutoTokenizer reads them all from the one snapshot folder.
  for (const f of [...TOKENIZER_FILES, "special_tokens_map.json", "merges.txt"]) {
    const path = await resolveModelFile(ref, f, { ...hub, required: false });
    found ??= path && dirname(path);
  }
  return found;
}

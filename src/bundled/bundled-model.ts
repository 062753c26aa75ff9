// Where the model that finetune-ts pretrained and ships lives: assets/tiny-distilbert at the package root.
// This file is two folders below the root both as source (src/bundled/) and built (dist/bundled/).
import { fileURLToPath } from "node:url";

export function packageRoot(): string {
  return fileURLToPath(new URL("../../", import.meta.url));
}

/** Absolute path of the bundled DistilBERT model folder (config.json, model.safetensors, tokenizer files). */
export function bundledModelPath(): string {
  return fileURLToPath(new URL("../../assets/tiny-distilbert", import.meta.url));
}

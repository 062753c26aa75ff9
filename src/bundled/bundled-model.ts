// Where the models that finetune-ts pretrained and ships live: folders of assets/ at the package root, by the
// name `--model` gives them. This file is two folders below the root both as source (src/bundled/) and built
// (dist/bundled/).
import { fileURLToPath } from "node:url";

export function packageRoot(): string {
  return fileURLToPath(new URL("../../", import.meta.url));
}

/** `--model` name → its folder under assets/. */
export const BUNDLED_MODELS = {
  /** A small DistilBERT (masked LM), for classification. */
  bundled: "tiny-distilbert",
  /** A small Llama (causal LM) with a ChatML chat template, for generation and chat. */
  "bundled-lm": "tiny-lm",
} as const;

export type BundledModelName = keyof typeof BUNDLED_MODELS;

export function isBundledModel(name: string): name is BundledModelName {
  return Object.hasOwn(BUNDLED_MODELS, name);
}

/** Absolute path of a bundled model folder (config.json, model.safetensors, tokenizer files); default the DistilBERT. */
export function bundledModelPath(name: BundledModelName = "bundled"): string {
  return fileURLToPath(new URL(`../../assets/${BUNDLED_MODELS[name]}`, import.meta.url));
}

// Where each model family keeps its transformer blocks and the modules between the last block and the
// head. Paths are relative to the base model (the `baseModelPrefix` submodule), so both the bare base
// models and the *ForSequenceClassification / *ForCausalLM wrappers resolve through the same table.
import type { Module } from "../nn/index.js";

export interface FamilyLayout {
  /** The ModuleList of transformer blocks, in order. */
  blocks: string;
  /** Modules after the last block and before the head (final norms, BERT's pooler). They belong to
   *  the top of the stack, so they train whenever at least one block does. */
  top: string[];
  /** Decoder-only: a sequence is summarised by its last token, not its first. */
  causal: boolean;
}

const LAYOUTS: Record<string, FamilyLayout> = {
  distilbert: { blocks: "transformer.layer", top: [], causal: false },
  bert: { blocks: "encoder.layer", top: ["pooler"], causal: false },
  gpt2: { blocks: "h", top: ["ln_f"], causal: true },
  llama: { blocks: "layers", top: ["norm"], causal: true },
};

export function familyLayout(modelType: string): FamilyLayout {
  const layout = LAYOUTS[modelType];
  if (!layout) {
    throw new Error(`no layer layout for model type "${modelType}" (known: ${Object.keys(LAYOUTS).join(", ")})`);
  }
  return layout;
}

/** The dotted prefix that leads from `model` to its base model: "distilbert." for a classifier,
 *  "" when `model` is the base model itself. */
export function basePath(model: Module & { baseModelPrefix: string }): string {
  const prefix = model.baseModelPrefix;
  return hasSubmodule(model, prefix) ? `${prefix}.` : "";
}

export function hasSubmodule(model: Module, path: string): boolean {
  try {
    model.getSubmodule(path);
    return true;
  } catch {
    return false;
  }
}

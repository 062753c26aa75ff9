// A family's layout (./family.ts) resolved on a model: the full module paths of its blocks, of the modules
// above them and of its embeddings, whichever head class the model is.
import type { Module, ModuleList } from "../nn/index.js";
import type { PreTrainedModel } from "./pretrained.js";
import { familyOfModel } from "./registry.js";

export interface ModelLayout {
  /** Each transformer block, in order ("distilbert.transformer.layer.0", ...). */
  blocks: string[];
  /** The modules between the last block and the head that this model has (a masked-LM BERT has no pooler). */
  top: string[];
  embeddings: string[];
}

export function modelLayout(model: PreTrainedModel): ModelLayout {
  const layout = familyOfModel(model).layout;
  const base = basePath(model);
  const blocks = model.getSubmodule(base + layout.blocks) as ModuleList;
  const present = (paths: string[]) => paths.map((p) => base + p).filter((p) => hasSubmodule(model, p));
  return {
    blocks: Array.from({ length: blocks.length }, (_, i) => `${base}${layout.blocks}.${i}`),
    top: present(layout.top),
    embeddings: present(layout.embeddings),
  };
}

/** The dotted prefix that leads from `model` to its base model: "distilbert." for a classifier, "" when `model`
 *  is the base model itself. */
function basePath(model: PreTrainedModel): string {
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

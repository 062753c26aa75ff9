// Choosing what trains: Raschka's "output layers only" (n = 0) and "last N layers" sit between the
// frozen feature extractor and full fine-tuning, and are all expressed as requiresGrad flags.
import { hasSubmodule, modelLayout } from "../models/layout.js";
import type { PreTrainedModel } from "../models/pretrained.js";
import type { Module } from "../nn/index.js";
import type { Tensor } from "../tensor/index.js";

export function freeze<M extends Module>(module: M): M {
  return module.requiresGrad(false);
}

export function unfreeze<M extends Module>(module: M): M {
  return module.requiresGrad(true);
}

/**
 * Freezes `model`, then unfreezes its last `n` transformer blocks, the modules above them (final norm,
 * BERT's pooler) when n > 0, and the head: `classifierModules()` for classifiers, `lm_head` for causal
 * LMs. n = 0 trains the head alone. A tensor shared with a module that stays frozen stays frozen, so
 * GPT-2's lm_head (tied to wte) never trains here while Llama's untied one does.
 * Returns the names of the trainable parameters.
 */
export function trainLastLayers(model: PreTrainedModel, n: number): string[] {
  const layout = modelLayout(model);
  const numLayers = layout.blocks.length;
  if (!Number.isInteger(n) || n < 0 || n > numLayers) {
    throw new RangeError(`trainLastLayers: n must be an integer in [0, ${numLayers}] (the model has ${numLayers} layers), got ${n}`);
  }
  const heads = [...model.classifierModules()];
  if (heads.length === 0 && hasSubmodule(model, "lm_head")) heads.push("lm_head");
  const trained = [
    ...layout.blocks.slice(numLayers - n),
    ...(n > 0 ? layout.top : []),
    ...heads,
  ];
  freeze(model);
  // A bf16 weight that trains is widened to float32 first (the frozen blocks below stay bf16).
  const trainable = tensorsOnlyUnder(model, trained);
  model.mapParameters((p) => trainable.has(p) && p.dtype === "bfloat16", (p) => {
    const wide = p.to("float32");
    trainable.add(wide);
    return wide;
  });
  for (const t of trainable) if (t.dtype !== "bfloat16") t.requiresGrad = true;
  const names = [...model.namedParameters()].filter(([, p]) => p.requiresGrad).map(([name]) => name);
  if (names.length === 0) {
    throw new Error(`trainLastLayers(${n}): nothing to train: this ${model.constructor.name} has no head of its own ` +
      `(a base model, or an lm_head tied to the frozen embeddings); use n >= 1`);
  }
  return names;
}

/** Parameters reachable only through the given module paths (a tied tensor also reachable from
 *  elsewhere is left out). stateDict lists a tied tensor under each of its names, which is what
 *  makes the sharing visible. */
function tensorsOnlyUnder(model: Module, paths: string[]): Set<Tensor> {
  const params = new Set(model.parameters());
  const under = (name: string) => paths.some((p) => name.startsWith(`${p}.`));
  const inside = new Set<Tensor>(), outside = new Set<Tensor>();
  for (const [name, t] of model.stateDict()) {
    if (params.has(t)) (under(name) ? inside : outside).add(t);
  }
  for (const t of outside) inside.delete(t);
  return inside;
}

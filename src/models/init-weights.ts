// Hugging Face's _init_weights for the layer types our models use, applied only to the tensors a
// checkpoint did not provide (from_pretrained loads everything else over the init).
import { Conv1D, Embedding, LayerNorm, Linear, RMSNorm, init } from "../nn/index.js";
import type { Module } from "../nn/index.js";

/** Initialises the named parameters of one module (its own, not its children's). */
export function initMissingParameters(module: Module, names: ReadonlySet<string>, std: number): void {
  const wants = (n: string) => names.has(n);
  if (module instanceof Linear || module instanceof Conv1D) {
    if (wants("weight")) init.normal_(module.weight, 0, std);
    if (module.bias && wants("bias")) init.constant_(module.bias, 0);
  } else if (module instanceof Embedding) {
    if (!wants("weight")) return;
    init.normal_(module.weight, 0, std);
    const p = module.paddingIdx, d = module.embeddingDim;
    if (p !== undefined) module.weight.data.fill(0, p * d, (p + 1) * d);
  } else if (module instanceof LayerNorm) {
    if (wants("weight")) init.constant_(module.weight, 1);
    if (module.bias && wants("bias")) init.constant_(module.bias, 0);
  } else if (module instanceof RMSNorm) {
    if (wants("weight")) init.constant_(module.weight, 1);
  } else {
    throw new Error(`no Hugging Face initialisation rule for ${module.constructor.name} parameters ${[...names].join(", ")}`);
  }
}

// Frozen weight matrices in bfloat16: which tensors of a module tree become Bf16Tensors, and in which orientation.
import { Bf16Tensor, type Tensor } from "../tensor/index.js";
import { Conv1D, Embedding, Linear } from "./layers.js";
import type { Module } from "./module.js";

export type WeightLayer = Linear | Conv1D | Embedding;

/**
 * Stores the weight of every Linear, Conv1D and Embedding under `module` that `pick` selects as a frozen bf16
 * tensor, tied weights once: half the memory, and linear layers multiply by it on the bf16 GEMM. By default it
 * picks the weights that are frozen already, so call it after choosing what trains. `values: false` leaves the
 * new tensors zero, for a loader that fills them (see Bf16Tensor.assign).
 */
export function storeFrozenWeightsInBf16(module: Module, pick: (path: string, layer: WeightLayer) => boolean = (_, l) => !l.weight.requiresGrad,
  values = true): void {
  const transposed = new Map<Tensor, boolean>();
  for (const [path, m] of module.namedModules()) {
    if (!(m instanceof Linear || m instanceof Conv1D || m instanceof Embedding) || !pick(path, m)) continue;
    transposed.set(m.weight, m instanceof Conv1D); // packed [out, in], the orientation of the forward product
  }
  module.mapParameters((p) => transposed.has(p) && p.dtype !== "bfloat16", (p) => values
    ? Bf16Tensor.fromValues(p.data, p.shape, transposed.get(p))
    : Bf16Tensor.empty(p.shape, transposed.get(p)));
}

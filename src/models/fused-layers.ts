// The encoder blocks' fusion points: a linear layer with its activation, and a residual sum with the norm
// after it. Each falls back to the plain modules when a layer has been swapped (e.g. wrapped by LoRA) or
// the activation has no fused form, so models call these unconditionally. And the blocks' hand-back of
// their own intermediates to the buffer pool, at once when no graph kept them (inference, frozen layers) or
// after backward: left to the garbage collector, they would each cost fresh memory on the next forward.
import { Conv1D, LayerNorm, Linear, type Module } from "../nn/index.js";
import { Tensor, add, addLayerNorm, fusedGelu, linearGelu, releaseAfterBackward, releaseFloat32 } from "../tensor/index.js";
import { ACTIVATIONS, type ActivationName } from "./config.js";

type Forward = Module & { forward(x: Tensor): Tensor };

/** ACTIVATIONS[activation](layer.forward(x)). */
export function linearActivation(layer: Forward, activation: ActivationName, x: Tensor): Tensor {
  const gelu = fusedGelu(activation);
  if (gelu && (layer instanceof Linear || layer instanceof Conv1D))
    return linearGelu(x, layer.weight, layer.bias, gelu.approximate, layer instanceof Conv1D);
  return ACTIVATIONS[activation](layer.forward(x));
}

/** norm.forward(a + residual). */
export function addNorm(norm: Forward, a: Tensor, residual: Tensor): Tensor {
  if (norm instanceof LayerNorm && norm.bias && a.shape.join() === residual.shape.join())
    return addLayerNorm(a, residual, norm.weight, norm.bias, norm.eps);
  return norm.forward(add(a, residual));
}

/** Returns `result`, and hands the `consumed` intermediates' buffers back to the pool: at once when it
 *  recorded no graph (nothing saved them), else once backward has run every node that reads them. Only for a
 *  module's own intermediates, which nothing outside it references and only ops leading to `result` read. */
export function releaseIntermediates(result: Tensor, ...consumed: Tensor[]): Tensor {
  for (const t of consumed) {
    if (t.data.buffer === result.data.buffer) continue;
    if (result.gradFn) releaseAfterBackward(t);
    else if (!t.requiresGrad) releaseFloat32(t.f);
  }
  return result;
}

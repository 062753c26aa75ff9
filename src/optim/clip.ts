import type { Tensor } from "../tensor/index.js";

/** torch.nn.utils.clip_grad_norm_: scales all gradients so their global L2 norm is at most maxNorm.
 *  Returns the norm before clipping (Infinity or NaN when a gradient is not finite). */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number): number {
  const list = [...params].filter((p) => p.peekGrad());
  let sq = 0;
  for (const p of list) { const g = p.peekGrad()!.f; for (let i = 0; i < g.length; i++) sq += g[i] * g[i]; }
  const norm = Math.sqrt(sq);
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) for (const p of list) { const g = p.peekGrad()!.f; for (let i = 0; i < g.length; i++) g[i] *= coef; }
  return norm;
}

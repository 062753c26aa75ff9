// Scaled dot-product attention as one op on the backend's fused kernel: softmax(scale · q·kᵀ + mask),
// dropout, ·v, per (batch, head), reading q, k, v where the projections left them. Its graph node keeps
// only the softmax output; the dropout mask is recomputed from its seeds in backward.
import type { AttentionArgs, DropoutSpec, FloatArray } from "../../backend/backend.js";
import { backendFor } from "../../backend/index.js";
import { isGradEnabled, result } from "../autograd.js";
import { releaseFloat32 } from "../pool.js";
import { defaultGenerator, type Generator } from "../random.js";
import { Tensor, emptyLike } from "../tensor.js";

export interface AttentionOptions {
  /** "bshd": q [batch, queries, heads * dim] and k, v [batch, keys, heads * dim], as the projections write
   *  them; "bhsd": q [batch, heads, queries, dim] and k, v [batch, heads, keys, dim]. */
  layout: "bshd" | "bhsd";
  /** Head count; needed for "bshd" (read from the shape for "bhsd"). */
  heads?: number;
  /** "bhsd" only: attend over the first `keys` rows of k and v's seq dimension, the rest being a generation
   *  cache's spare rows. Default all. Not differentiable (the cache is written in place). */
  keys?: number;
  scale: number;
  /** Added to the scores: [batch, rows, keys] with rows 1 (all queries) or queries. */
  mask?: { data: FloatArray; rows: number } | null;
  dropoutP?: number;
  training?: boolean;
  generator?: Generator;
}

/** Dropout's hashed-mask parameters, seeded from the generator (two draws) so runs are reproducible. */
export function dropoutSpec(p: number, gen: Generator = defaultGenerator): DropoutSpec {
  if (p === 0) return { threshold: 0, scale: 1, seed0: 0, seed1: 0 };
  if (!(p > 0 && p < 1)) throw new RangeError(`dropout probability must be in [0, 1), got ${p}`);
  return { threshold: Math.min(0xffffffff, Math.round(p * 2 ** 32)), scale: 1 / (1 - p), seed0: gen.nextUint32(),
    seed1: gen.nextUint32() };
}

/** The output has q's shape. */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, o: AttentionOptions): Tensor {
  const headsInner = o.layout === "bshd";
  if (q.ndim !== (headsInner ? 3 : 4) || k.ndim !== q.ndim || v.shape.join() !== k.shape.join())
    throw new RangeError(`attention: q [${q.shape}], k [${k.shape}], v [${v.shape}] do not fit layout ${o.layout}`);
  const batch = q.shape[0];
  const heads = headsInner ? o.heads ?? 0 : q.shape[1];
  const queries = q.shape[headsInner ? 1 : 2], kvRows = k.shape[headsInner ? 1 : 2], keys = o.keys ?? kvRows;
  if (!Number.isInteger(keys) || keys < 0 || keys > kvRows || (headsInner && keys !== kvRows))
    throw new RangeError(`attention: keys ${keys} must be at most k's ${kvRows} rows, and all of them in layout ${o.layout}`);
  const dim = headsInner ? q.shape[2] / heads : q.shape[3];
  if (!Number.isInteger(dim) || heads < 1 || k.shape[0] !== batch || (headsInner ? k.shape[2] : k.shape[3]) !== q.shape.at(-1) ||
      (!headsInner && k.shape[1] !== heads))
    throw new RangeError(`attention: q [${q.shape}] and k [${k.shape}] do not fit ${heads} heads in layout ${o.layout}`);
  const mask = o.mask ?? null, maskRows = mask?.rows ?? 1;
  if (mask && ((maskRows !== 1 && maskRows !== queries) || mask.data.length !== batch * maskRows * keys))
    throw new RangeError(`attention mask of ${mask.data.length} values (rows ${maskRows}) does not fit [${batch}, ${queries}, ${keys}]`);
  const Q = q.f, K = k.f, V = v.f;
  // Only a recorded graph reads the probabilities back; otherwise the kernel never holds them all.
  const recording = isGradEnabled() && [q, k, v].some((t) => t.requiresGrad);
  if (recording && keys !== kvRows) throw new Error("attention: keys within a cache's rows is for inference; run it under noGrad");
  const args: AttentionArgs = {
    q: Q, k: K, v: V, batch, heads, queries, keys, kvRows, dim, headsInner, scale: o.scale, mask: mask?.data ?? null, maskRows,
    probs: recording ? emptyLike(Q, batch * heads * queries * keys) : null,
    dropout: dropoutSpec(o.training ? o.dropoutP ?? 0 : 0, o.generator),
  };
  const out = emptyLike(Q, q.numel);
  backendFor(Q, K, V, args.mask).attentionForward(args, out);
  return result(out, q.shape, "attention", [q, k, v], (g, needs) => {
    const dq = needs[0] ? emptyLike(g, q.numel) : null;
    const dk = needs[1] ? emptyLike(g, k.numel) : null, dv = needs[2] ? emptyLike(g, v.numel) : null;
    backendFor(Q, K, V, g).attentionBackward(args, g, dq, dk, dv);
    releaseFloat32(args.probs!); // private to this node, which runs once
    return [dq, dk, dv];
  });
}

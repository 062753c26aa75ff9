// Reverse-mode autograd. An op records a node only when grad mode is on and some input requires a
// gradient; otherwise its backward closure (and every activation it captured) is garbage at once.
// Backward walks the nodes in reverse topological order and drops each closure after use, so memory
// falls as the pass proceeds, as PyTorch's does without retain_graph.
import type { FloatArray } from "../backend/backend.js";
import { backendFor } from "../backend/index.js";
import { releaseFloat32 } from "./pool.js";
import { GradNode, Tensor, TensorData, emptyLike, floatLike, installBackward } from "./tensor.js";

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording the graph, like `with torch.no_grad():`. */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    const r = fn();
    if (r instanceof Promise) throw new TypeError("noGrad() takes a synchronous function; await outside it");
    return r;
  } finally {
    gradEnabled = prev;
  }
}

export function enableGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = true;
  try { return fn(); } finally { gradEnabled = prev; }
}

export type BackwardFn = (grad: FloatArray, needs: boolean[]) => (FloatArray | null)[];

// While traceReads runs, every tensor an op reads that needs a gradient: a graph-less pass learns what a graph
// of the same computation would hang from.
let reads: Set<Tensor> | null = null;

/** Runs fn and returns the tensors needing a gradient that its ops read, in first-read order. */
export function traceReads<T>(fn: () => T): { value: T; reads: Tensor[] } {
  const prev = reads, seen = new Set<Tensor>();
  reads = seen;
  try {
    const value = fn();
    return { value, reads: [...seen] };
  } finally {
    reads = prev;
    if (prev) for (const t of seen) prev.add(t);
  }
}

/** Wraps an op's output: attaches `backward` when any input needs a gradient. `backward` must return
 *  either `grad` itself (passed through) or buffers it allocated: autograd recycles them once consumed. */
export function result(data: TensorData, shape: readonly number[], name: string, inputs: Tensor[], backward: BackwardFn): Tensor {
  const out = new Tensor(data, shape);
  if (reads) for (const t of inputs) if (t.requiresGrad) reads.add(t);
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.gradFn = { name, inputs, backward } satisfies GradNode;
  }
  return out;
}

/** Reverse topological order of the graph behind root, not entering tensors made before `boundary`. */
function topoOrder(root: Tensor, boundary: number): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<number>();
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root.id);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.gradFn?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const child = inputs[i];
      if (child.gradFn && child.id >= boundary && !seen.has(child.id)) { seen.add(child.id); stack.push([child, 0]); }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order;
}

function copyOf(g: FloatArray): FloatArray {
  const c = emptyLike(g, g.length);
  c.set(g);
  return c;
}

function add(dst: FloatArray, src: FloatArray): void {
  backendFor(dst, src).add(dst, src, dst, dst.length);
}

function runBackward(root: Tensor, grad?: Tensor): void {
  backwardUntil(root, grad, -1);
}

/** Backward from root that stops at the tensors made before `boundary` (tensor ids grow): their gradients are
 *  returned by id, neither accumulated nor passed on. A checkpointed block's recomputed graph ends there. */
export function backwardUntil(root: Tensor, grad: Tensor | undefined, boundary: number): Map<number, FloatArray> {
  if (!root.requiresGrad) throw new Error("backward(): tensor does not require grad (is every parameter frozen?)");
  if (!grad && root.numel !== 1) throw new Error(`backward(): gradient must be given for a non-scalar output of shape [${root.shape}]`);
  const grads = new Map<number, FloatArray>(), outside = new Map<number, FloatArray>();
  const seed = floatLike(root.f, root.numel);
  if (grad) seed.set(grad.f); else seed.fill(1);
  if (!root.gradFn) { accumulateLeaf(root, seed); return outside; }
  grads.set(root.id, seed);
  // A buffer handed to one consumer must not be handed to a second one that may add into it.
  const owned = new Set<FloatArray>();
  const take = (g: FloatArray): FloatArray => {
    if (owned.has(g)) return copyOf(g);
    owned.add(g);
    return g;
  };
  const order = topoOrder(root, boundary);
  for (let k = order.length - 1; k >= 0; k--) {
    const t = order[k];
    const node = t.gradFn!;
    const g = grads.get(t.id);
    grads.delete(t.id);
    if (!g) continue;
    // t's gradient is consumed here, so its buffer is free to be handed on: an op that passes it through
    // (reshape, add) gives it to its first input without a copy.
    owned.delete(g);
    if (!node.backward) throw new Error(`backward(): the graph through ${node.name} was already freed by an earlier backward()`);
    const needs = node.inputs.map((x) => x.requiresGrad);
    const inGrads = node.backward(g, needs);
    node.backward = null;
    const kept = new Set<ArrayBufferLike>();
    node.inputs.forEach((x, i) => {
      const gi = inGrads[i];
      if (!gi || !needs[i]) return;
      let stored: FloatArray | null = null;
      if (x.gradFn || x.id < boundary) {
        const into = x.id < boundary ? outside : grads;
        const prev = into.get(x.id);
        if (prev) add(prev, gi); else into.set(x.id, (stored = take(gi)));
      } else {
        stored = accumulateLeaf(x, take(gi));
      }
      if (stored) kept.add(stored.buffer);
    });
    node.inputs = [];
    // g and the input gradients are the graph's own buffers (ops pass g through or return fresh ones), so
    // whatever was not stored is dead.
    for (const b of new Set([g, ...inGrads])) {
      if (!b || kept.has(b.buffer)) continue;
      owned.delete(b);
      releaseFloat32(b);
    }
  }
  return outside;
}

/** Returns the buffer when it became the leaf's gradient, null when it was added into an existing one. */
function accumulateLeaf(x: Tensor, g: FloatArray): FloatArray | null {
  const prev = x.peekGrad();
  if (prev) { add(prev.f, g); return null; }
  x.adoptGrad(new Tensor(g, x.shape));
  return g;
}

installBackward(runBackward);

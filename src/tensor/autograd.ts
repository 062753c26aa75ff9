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

// A module's own intermediates (releaseIntermediates in src/models/fused-layers.ts): read only by ops whose
// outputs lead to the module's one result, so once backward has run every node reading one, nothing else
// can. Their buffers then go back to the pool instead of waiting for the garbage collector: a DistilBERT-base
// step otherwise allocated 250 MB of fresh activations, and V8 answered that external memory with a major
// collection every few hundred milliseconds.
const intermediates = new WeakSet<Tensor>();

/** Marks t as a module's own intermediate of a recorded forward (see `intermediates`). */
export function releaseAfterBackward(t: Tensor): void {
  intermediates.add(t);
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
  // How many places (pending gradients, leaves, `outside`) hold each buffer. An op may give one buffer to two
  // inputs (addLayerNorm's dx to both summands of a residual): two pending gradients share it, read-only, until
  // one of them needs a sum, which then goes to a fresh buffer. A leaf's or an outside gradient is added into
  // by later steps, so it always gets a buffer of its own.
  const holders = new Map<FloatArray, number>();
  const hold = (g: FloatArray, shared: boolean): FloatArray => {
    const n = holders.get(g) ?? 0;
    if (n > 0 && !shared) return hold(copyOf(g), false);
    holders.set(g, n + 1);
    return g;
  };
  const order = topoOrder(root, boundary);
  // Intermediates read by this pass's nodes. Each goes back to the pool when its own node has run (reverse
  // topological order: every reader ran before it), or at the end for one no node produced (a frozen
  // layer's output); a buffer two of them share goes back once.
  const read = new Set<Tensor>(), released = new Set<ArrayBufferLike>();
  const recycle = (x: Tensor) => {
    read.delete(x);
    if (released.has(x.data.buffer)) return;
    released.add(x.data.buffer);
    releaseFloat32(x.f);
  };
  for (let k = order.length - 1; k >= 0; k--) {
    const t = order[k];
    const node = t.gradFn!;
    const g = grads.get(t.id);
    grads.delete(t.id);
    if (!g) continue;
    // t's gradient is consumed here: unless another pending gradient shares the buffer, an op that passes it
    // through (reshape, add) hands it on without a copy.
    const left = (holders.get(g) ?? 1) - 1;
    if (left > 0) holders.set(g, left); else holders.delete(g);
    if (!node.backward) throw new Error(`backward(): the graph through ${node.name} was already freed by an earlier backward()`);
    const needs = node.inputs.map((x) => x.requiresGrad);
    const inGrads = node.backward(g, needs);
    node.backward = null;
    for (const x of node.inputs) if (intermediates.has(x)) read.add(x);
    if (read.has(t)) recycle(t);
    node.inputs.forEach((x, i) => {
      const gi = inGrads[i];
      if (!gi || !needs[i]) return;
      if (x.id < boundary) {
        const prev = outside.get(x.id);
        if (prev) add(prev, gi); else outside.set(x.id, hold(gi, false));
      } else if (x.gradFn) {
        const prev = grads.get(x.id);
        if (!prev) grads.set(x.id, hold(gi, true));
        else if ((holders.get(prev) ?? 1) === 1) add(prev, gi);
        else {
          // prev is shared: the sum goes to a buffer of x's own, prev + gi as the in-place add would round it.
          const sum = emptyLike(prev, prev.length);
          backendFor(prev, gi).add(prev, gi, sum, sum.length);
          holders.set(prev, holders.get(prev)! - 1);
          grads.set(x.id, hold(sum, false));
        }
      } else {
        accumulateLeaf(x, gi, (b) => hold(b, false));
      }
    });
    node.inputs = [];
    // g and the input gradients are the graph's own buffers (ops pass g through or return fresh ones), so
    // whatever nothing holds is dead.
    for (const b of new Set([g, ...inGrads])) if (b && !holders.has(b)) releaseFloat32(b);
  }
  for (const x of read) recycle(x);
  return outside;
}

/** Adds g into the leaf's gradient, or makes `own(g)` its gradient when it has none yet. */
function accumulateLeaf(x: Tensor, g: FloatArray, own = (b: FloatArray) => b): void {
  const prev = x.peekGrad();
  if (prev) add(prev.f, g);
  else x.adoptGrad(new Tensor(own(g), x.shape));
}

installBackward(runBackward);

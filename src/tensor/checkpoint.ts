// Activation checkpointing (torch.utils.checkpoint): a block runs once without a graph, so none of its
// activations stay alive, and again with one in backward, where its gradient is needed. Only the tensors it
// reads are kept. The second run replays the first's random draws (dropout), so both compute the same values.
import { backwardUntil, enableGrad, isGradEnabled, noGrad, result, traceReads } from "./autograd.js";
import { defaultGenerator } from "./random.js";
import { Tensor, nextTensorId } from "./tensor.js";

/** What a block returns: its output, or its output (`hidden`) with extras (a decoder's keys and values). Only
 *  the output carries a gradient; the extras come from the graph-less run. */
export type BlockResult = Tensor | { hidden: Tensor };

const outputOf = (r: BlockResult): Tensor => (r instanceof Tensor ? r : r.hidden);

/** fn() with its activations recomputed in backward instead of stored. Every tensor fn reads that needs a
 *  gradient (the block's input, its trainable weights, a prefix's keys) gets it as from fn's own graph. */
export function checkpoint<R extends BlockResult>(fn: () => R): R {
  if (!isGradEnabled()) return fn();
  const rng = defaultGenerator.getState();
  const { value, reads } = traceReads(() => noGrad(fn));
  const plain = outputOf(value);
  const out = result(plain.data, plain.shape, "checkpoint", reads, (g) => {
    const now = defaultGenerator.getState();
    defaultGenerator.setState(rng);
    try {
      const boundary = nextTensorId();
      const again = outputOf(enableGrad(fn));
      const grads = backwardUntil(again, new Tensor(g, again.shape), boundary);
      return reads.map((t) => grads.get(t.id) ?? null);
    } finally {
      defaultGenerator.setState(now);
    }
  });
  return (value instanceof Tensor ? out : { ...value, hidden: out }) as R;
}

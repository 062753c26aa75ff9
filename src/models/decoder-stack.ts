// The part of a decoder body's forward that every decoder family shares: the blocks in order, each on its own past
// (the KV cache, or prefix tuning's prefix), their presents kept when useCache asks, then the final norm.
import type { Tensor } from "../tensor/index.js";
import type { LayerPast, ModelOutput } from "./outputs.js";

/** One decoder block's result: its output and the keys/values it attended over (past + new), for the cache. */
export interface DecoderBlockOutput {
  hidden: Tensor;
  present: LayerPast;
}

/** The output of a body without a head: logits is the last hidden state. `step` runs one block on `h` and that
 *  block's past; what else a block takes (a mask, a RoPE table, both chosen per layer) is the family's. */
export function runDecoderStack<B>(blocks: readonly B[], h: Tensor, past: readonly (LayerPast | undefined)[],
  step: (block: B, h: Tensor, past: LayerPast | undefined) => DecoderBlockOutput,
  finalNorm: { forward(x: Tensor): Tensor }, useCache: boolean | undefined): ModelOutput {
  const presents: LayerPast[] = [];
  for (let i = 0; i < blocks.length; i++) {
    const r = step(blocks[i], h, past[i]);
    h = r.hidden;
    presents.push(r.present);
  }
  h = finalNorm.forward(h);
  return { logits: h, lastHiddenState: h, pastKeyValues: useCache ? presents : undefined };
}

// Input handling shared by the BERT-style encoders: ids or embeddings, the attention mask over past +
// current positions, and position ids that start after the past (prefix tuning's virtual tokens).
import { type Tensor, arange, ones, slice } from "../tensor/index.js";
import { readTokensAndPast, type TokensAndPast } from "./model-input.js";
import type { ModelInput } from "./outputs.js";

export interface EncoderInputs extends TokensAndPast {
  /** [batch, pastLength + seq], 1 = attend: all ones when none was given. */
  attentionMask: Tensor;
  /** [seq]: pastLength .. pastLength + seq - 1. */
  positionIds: Tensor;
}

/** `firstPosition`: the position id of the first token when there is no past (RoBERTa's start after padding_idx). */
export function prepareEncoderInputs(input: ModelInput, numLayers: number, maxPositions: number, firstPosition = 0): EncoderInputs {
  const t = readTokensAndPast(input, numLayers);
  const total = t.pastLength + t.seq;
  if (firstPosition + total > maxPositions) {
    const start = firstPosition ? ` with positions starting at ${firstPosition}` : "";
    throw new RangeError(`sequence of ${t.seq} tokens after ${t.pastLength} past positions exceeds max_position_embeddings (${maxPositions})${start}`);
  }
  return { ...t, attentionMask: t.attentionMask ?? ones([t.batch, total]), positionIds: arange(t.pastLength, total) };
}

/** The positions of the last layer a head reads: every one, or the first alone (a [CLS] or <s> classifier). For
 *  the first alone, the last layer still takes keys and values from every position, but computes queries, the
 *  attention output, the feed-forward and the norms for that one row: the same logits for about 1/numLayers less
 *  work. transformers computes every row. */
export type OutputRows = "all" | "first";

/** The last layer's rows a headless encoder computes for this input: position 0 alone when the caller asked
 *  for that (outputLastHiddenState "first"), else every one. */
export function requestedRows(input: ModelInput): OutputRows {
  return input.outputLastHiddenState === "first" ? "first" : "all";
}

/** The rows of x [batch, seq, hidden] a layer computes its output for. */
export function outputRows(x: Tensor, rows: OutputRows): Tensor {
  return rows === "first" ? slice(x, 1, 0, 1) : x;
}

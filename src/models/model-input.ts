// How every model reads the common part of its input: token ids or embeddings, the past keys/values
// (KV cache, prefix tuning's virtual tokens) and an attention mask over past + current positions.
import { Tensor, asTensor } from "../tensor/index.js";
import { pastLength as layerPastLength } from "./kv-cache.js";
import type { LayerPast, ModelInput } from "./outputs.js";

export interface TokensAndPast {
  inputIds: Tensor | null;
  inputsEmbeds: Tensor | null;
  batch: number;
  seq: number;
  pastLength: number;
  /** One entry per layer, undefined where the layer has no past. */
  past: (LayerPast | undefined)[];
  /** [batch, pastLength + seq] as given (1 = attend), or null when none was given. */
  attentionMask: Tensor | null;
}

export function readTokensAndPast(input: ModelInput, numLayers: number): TokensAndPast {
  if ((input.inputIds === undefined) === (input.inputsEmbeds === undefined))
    throw new Error("forward() needs exactly one of inputIds and inputsEmbeds");
  const inputIds = input.inputIds === undefined ? null : asTensor(input.inputIds, "int32");
  const inputsEmbeds = input.inputsEmbeds ?? null;
  if (inputIds && inputIds.ndim !== 2) throw new RangeError(`inputIds must be [batch, seq], got [${inputIds.shape}]`);
  if (inputsEmbeds && inputsEmbeds.ndim !== 3) throw new RangeError(`inputsEmbeds must be [batch, seq, hidden], got [${inputsEmbeds.shape}]`);
  const [batch, seq] = (inputIds ?? inputsEmbeds!).shape;
  const past = input.pastKeyValues ?? [];
  if (past.length && past.length !== numLayers) throw new RangeError(`pastKeyValues has ${past.length} layers; the model has ${numLayers}`);
  const pastLength = past.length ? layerPastLength(past[0]) : 0;
  if (past.some((p) => layerPastLength(p) !== pastLength))
    throw new RangeError("pastKeyValues layers have different lengths");
  const total = pastLength + seq;
  const attentionMask = input.attentionMask === undefined ? null : asTensor(input.attentionMask);
  if (attentionMask && (attentionMask.ndim !== 2 || attentionMask.shape[0] !== batch || attentionMask.shape[1] !== total))
    throw new RangeError(`attentionMask must be [batch, pastLength + seq] = [${batch}, ${total}], got [${attentionMask.shape}]`);
  return { inputIds, inputsEmbeds, batch, seq, pastLength, attentionMask, past: Array.from({ length: numLayers }, (_, i) => past[i]) };
}

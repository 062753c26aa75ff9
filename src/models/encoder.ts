// Input handling shared by the BERT-style encoders: ids or embeddings, the attention mask over past +
// current positions, and position ids that start after the past (prefix tuning's virtual tokens).
import { Tensor, arange, asTensor, ones } from "../tensor/index.js";
import type { LayerPast, ModelInput } from "./outputs.js";

export interface EncoderInputs {
  inputIds: Tensor | null;
  inputsEmbeds: Tensor | null;
  batch: number;
  seq: number;
  pastLength: number;
  /** [batch, pastLength + seq], 1 = attend. */
  attentionMask: Tensor;
  /** [seq]: pastLength .. pastLength + seq - 1. */
  positionIds: Tensor;
  past: (LayerPast | undefined)[];
}

export function prepareEncoderInputs(input: ModelInput, numLayers: number, maxPositions: number): EncoderInputs {
  if ((input.inputIds === undefined) === (input.inputsEmbeds === undefined))
    throw new Error("forward() needs exactly one of inputIds and inputsEmbeds");
  const inputIds = input.inputIds === undefined ? null : asTensor(input.inputIds, "int32");
  const inputsEmbeds = input.inputsEmbeds ?? null;
  if (inputIds && inputIds.ndim !== 2) throw new RangeError(`inputIds must be [batch, seq], got [${inputIds.shape}]`);
  if (inputsEmbeds && inputsEmbeds.ndim !== 3) throw new RangeError(`inputsEmbeds must be [batch, seq, hidden], got [${inputsEmbeds.shape}]`);
  const [batch, seq] = (inputIds ?? inputsEmbeds!).shape;
  const past = input.pastKeyValues ?? [];
  if (past.length && past.length !== numLayers)
    throw new RangeError(`pastKeyValues has ${past.length} layers; the model has ${numLayers}`);
  const pastLength = past.length ? past[0].key.shape[2] : 0;
  if (past.some((p) => p.key.shape[2] !== pastLength || p.value.shape[2] !== pastLength))
    throw new RangeError("pastKeyValues layers have different lengths");
  const total = pastLength + seq;
  if (total > maxPositions)
    throw new RangeError(`sequence of ${seq} tokens after ${pastLength} past positions exceeds max_position_embeddings (${maxPositions})`);
  const attentionMask = input.attentionMask === undefined ? ones([batch, total]) : asTensor(input.attentionMask);
  if (attentionMask.ndim !== 2 || attentionMask.shape[0] !== batch || attentionMask.shape[1] !== total)
    throw new RangeError(`attentionMask must be [batch, pastLength + seq] = [${batch}, ${total}], got [${attentionMask.shape}]`);
  const positionIds = arange(pastLength, total);
  return { inputIds, inputsEmbeds, batch, seq, pastLength, attentionMask, positionIds, past: Array.from({ length: numLayers }, (_, i) => past[i]) };
}

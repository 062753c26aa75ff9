// The two heads every decoder family puts on its body, written once: next-token logits (+ shifted loss)
// and sequence classification from the last non-pad token.
import type { Linear } from "../nn/index.js";
import { asTensor, slice } from "../tensor/index.js";
import { softcap } from "./attention.js";
import { causalLmLoss, poolLastTokens, type CausalLMInput } from "./generation.js";
import { classificationLoss } from "./heads.js";
import type { LabelConfig } from "./config.js";
import type { ModelOutput } from "./outputs.js";

interface DecoderBody {
  forward(input: CausalLMInput): ModelOutput;
}

/** logits [batch, seq, vocab] (the last input.logitsToKeep positions only, when given); with labels [batch, seq]
 *  (-100 = ignored) the mean next-token loss. Gemma 2 caps the logits (final_logit_softcapping) before the loss. */
export function causalLmForward(body: DecoderBody, lmHead: Linear, input: CausalLMInput, opts: { logitSoftcap?: number | null } = {}): ModelOutput {
  const keep = input.logitsToKeep ?? 0;
  if (!Number.isInteger(keep) || keep < 0) throw new RangeError(`logitsToKeep must be a non-negative integer, got ${keep}`);
  if (keep > 0 && input.labels !== undefined) throw new RangeError("logitsToKeep cannot be combined with labels: the loss needs every position's logits");
  const out = body.forward(input);
  const h = out.lastHiddenState!;
  const kept = keep > 0 ? slice(h, 1, -keep) : h;
  const logits = opts.logitSoftcap ? softcap(lmHead.forward(kept), opts.logitSoftcap) : lmHead.forward(kept);
  const loss = input.labels === undefined ? undefined : causalLmLoss(logits, input.labels);
  return { logits, loss, lastHiddenState: h, pastKeyValues: out.pastKeyValues };
}

/** logits [batch, numLabels] from the last non-pad token (pad_token_id decides; needed for batch > 1). */
export function lastTokenClassifierForward(body: DecoderBody, score: Linear, input: CausalLMInput,
  config: LabelConfig & { padTokenId: number | null }): ModelOutput {
  const out = body.forward(input);
  const h = out.lastHiddenState!;
  const ids = input.inputIds === undefined ? null : asTensor(input.inputIds, "int32");
  const logits = score.forward(poolLastTokens(h, ids, config.padTokenId));
  const loss = input.labels === undefined ? undefined : classificationLoss(logits, input.labels, config);
  return { logits, loss, lastHiddenState: h, pastKeyValues: out.pastKeyValues };
}

// GEMM FLOPs of one step of each bench case, counted from the model's shapes rather than from our own
// calls, so a wasted product would lower our GFLOP/s instead of raising it. Forward: 2·M·N·K per product.
// Backward: only the products autograd needs — dX where the input carries a gradient, dW where the weight
// is trainable, and in attention dS = dO·Vᵀ, dQ, dK, dV where q, k, v carry one.
export type CaseName = "inference" | "full" | "head" | "lora" | "prompt" | "prefix" | "features";
export const CASES: CaseName[] = ["inference", "full", "head", "lora", "prompt", "prefix", "features"];
/** The anchor's case each of ours is timed against: feature extraction is its inference forward plus our
 *  tokenization and pooling, so it is compared with the anchor's bare forward. */
export const TORCH_CASE: Record<CaseName, string> = {
  inference: "inference", full: "full", head: "head", lora: "lora", prompt: "prompt", prefix: "prefix", features: "inference",
};

export const DISTILBERT_BASE = { vocab: 30522, dim: 768, layers: 6, heads: 12, hidden: 3072, labels: 2 };
export const VIRTUAL_TOKENS = 20;
export const LORA_RANK = 8;

export function stepFlops(c: CaseName, batch: number, seq: number): number {
  const { dim: D, layers: L, heads: H, hidden: F, labels } = DISTILBERT_BASE;
  const dh = D / H, P = VIRTUAL_TOKENS, r = LORA_RANK;
  const q = seq + (c === "prompt" ? P : 0), keys = q + (c === "prefix" ? P : 0), T = batch * q;
  const mm = (m: number, n: number, k: number) => 2 * m * n * k;
  // The classifier reads position 0, so the last layer takes keys and values from every token and computes the
  // rest for that one row per sequence (src/models/encoder.ts); so does feature extraction with [CLS] pooling.
  const rowsOf = (l: number) => (l === L - 1 ? 1 : q);
  const linears = (rows: number) => 2 * mm(T, D, D) + 2 * mm(batch * rows, D, D) + 2 * mm(batch * rows, F, D);
  const attnProduct = (rows: number) => batch * H * mm(rows, keys, dh); // one of q·kᵀ, p·v, and each backward product
  // LoRA adapts q (rows of the layer's output) and v (every token).
  const loraPair = (rows: number) => mm(batch * rows, D, r) + mm(T, D, r);
  const head = mm(batch, D, D) + mm(batch, labels, D);
  let forward = head;
  for (let l = 0; l < L; l++) forward += linears(rowsOf(l)) + 2 * attnProduct(rowsOf(l)) + (c === "lora" ? 2 * loraPair(rowsOf(l)) : 0);
  if (c === "inference" || c === "features") return forward;
  if (c === "full") return 3 * forward;
  // Frozen base: a head-only step backpropagates into the classifier and pre_classifier weights only.
  const headBack = mm(batch, labels, D) * 2 + mm(batch, D, D) * (c === "head" ? 1 : 2);
  if (c === "head") return forward + headBack;
  // The first layer's input carries a gradient only under prompt tuning (the prompts are part of it). In the
  // other cases that layer's q, k and v projections need no dX, and its attention skips dK (LoRA: k is
  // frozen) or dQ (prefix: only the past is trained).
  let back = headBack;
  for (let l = 0; l < L; l++) {
    const inputGrad = l > 0 || c === "prompt", R = batch * rowsOf(l);
    back += inputGrad ? linears(rowsOf(l)) : mm(R, D, D) + 2 * mm(R, F, D);
    back += (inputGrad ? 4 : 3) * attnProduct(rowsOf(l));
    if (c === "lora") back += (inputGrad ? 4 : 3) * loraPair(rowsOf(l)); // dW_A, dW_B, dX_B (+ dX_A)
  }
  return forward + back;
}

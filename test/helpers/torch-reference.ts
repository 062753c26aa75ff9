import { readFileSync } from "node:fs";

/** PyTorch outputs written by scripts/make-torch-reference.py. */
export const torchReference = JSON.parse(
  readFileSync(new URL("../fixtures/torch-reference.json", import.meta.url), "utf8"),
) as {
  lstm: { params: Record<string, number[]>; shapes: Record<string, number[]>; x: number[]; y: number[]; dx: number[]; dw_ih_l1_reverse: number[] };
  optim: { p0: number[]; grads: number[][]; adamw: number[]; sgd_momentum: number[]; sgd_nesterov: number[] };
};

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

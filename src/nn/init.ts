// Weight initialisers, matching torch.nn.init and Hugging Face's _init_weights.
import { Tensor, defaultGenerator } from "../tensor/index.js";
import { randomInitSkipped } from "./random-init.js";

export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  if (randomInitSkipped()) return t;
  for (let i = 0; i < t.numel; i++) t.data[i] = mean + std * defaultGenerator.normal();
  return t;
}

/** torch.nn.init.trunc_normal_: N(mean, std²) restricted to [a, b] (drawn again until inside). */
export function truncNormal_(t: Tensor, mean: number, std: number, a: number, b: number): Tensor {
  if (randomInitSkipped()) return t;
  if (std === 0) return constant_(t, Math.min(Math.max(mean, a), b));
  if (!(a < b) || a > mean + 6 * std || b < mean - 6 * std) throw new RangeError(`truncNormal_: [${a}, ${b}] is empty or far outside N(${mean}, ${std}²)`);
  for (let i = 0; i < t.numel; i++) {
    let v: number;
    do v = mean + std * defaultGenerator.normal(); while (v < a || v > b);
    t.data[i] = v;
  }
  return t;
}

export function uniform_(t: Tensor, low: number, high: number): Tensor {
  if (randomInitSkipped()) return t;
  for (let i = 0; i < t.numel; i++) t.data[i] = low + (high - low) * defaultGenerator.random();
  return t;
}

export function constant_(t: Tensor, value: number): Tensor {
  t.data.fill(value);
  return t;
}

/** torch.nn.Linear's default: kaiming_uniform(a=√5) on the weight, i.e. U(±1/√fanIn). */
export function linearDefault_(weight: Tensor, bias: Tensor | null, fanIn: number): void {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  uniform_(weight, -bound, bound);
  if (bias) uniform_(bias, -bound, bound);
}

// torch.nn.LSTM (batch_first), built from autograd ops; PEFT's P-tuning encoder is its only user, on a
// handful of virtual tokens, so clarity beats a fused kernel here. Gate order i, f, g, o as in torch.
import { Tensor, add, cat, linear, mul, reshape, sigmoid, slice, stack, tanh, zeros } from "../tensor/index.js";
import { uniform_ } from "./init.js";
import { Module } from "./module.js";

export interface LSTMOptions {
  numLayers?: number;
  bidirectional?: boolean;
  bias?: boolean;
}

export class LSTM extends Module {
  readonly numLayers: number;
  readonly bidirectional: boolean;
  private readonly weights: { ih: Tensor; hh: Tensor; bih: Tensor | null; bhh: Tensor | null }[][] = [];

  constructor(readonly inputSize: number, readonly hiddenSize: number, opts: LSTMOptions = {}) {
    super();
    this.numLayers = opts.numLayers ?? 1;
    this.bidirectional = opts.bidirectional ?? false;
    const dirs = this.bidirectional ? 2 : 1;
    const bound = 1 / Math.sqrt(hiddenSize);
    const p = (name: string, shape: number[]) => this.registerParameter(name, uniform_(zeros(shape), -bound, bound));
    for (let l = 0; l < this.numLayers; l++) {
      const layer = [];
      const inSize = l === 0 ? inputSize : hiddenSize * dirs;
      for (let d = 0; d < dirs; d++) {
        const sfx = `_l${l}${d === 1 ? "_reverse" : ""}`;
        layer.push({
          ih: p(`weight_ih${sfx}`, [4 * hiddenSize, inSize]),
          hh: p(`weight_hh${sfx}`, [4 * hiddenSize, hiddenSize]),
          bih: opts.bias === false ? null : p(`bias_ih${sfx}`, [4 * hiddenSize]),
          bhh: opts.bias === false ? null : p(`bias_hh${sfx}`, [4 * hiddenSize]),
        });
      }
      this.weights.push(layer);
    }
  }

  /** x: [batch, seq, inputSize] -> [batch, seq, hiddenSize * directions]. */
  forward(x: Tensor): Tensor {
    let h = x;
    for (const layer of this.weights) {
      const outs = layer.map((w, d) => this.runDirection(h, w, d === 1));
      h = outs.length === 1 ? outs[0] : cat(outs, 2);
    }
    return h;
  }

  private runDirection(x: Tensor, w: LSTM["weights"][0][0], reverse: boolean): Tensor {
    const [batch, seq] = x.shape;
    const H = this.hiddenSize;
    const xProj = linear(x, w.ih, w.bih);
    let h = zeros([batch, H]), c = zeros([batch, H]);
    const steps: Tensor[] = new Array(seq);
    for (let s = 0; s < seq; s++) {
      const t = reverse ? seq - 1 - s : s;
      const gates = add(reshape(slice(xProj, 1, t, t + 1), [batch, 4 * H]), linear(h, w.hh, w.bhh));
      const gate = (k: number) => slice(gates, 1, k * H, (k + 1) * H);
      c = add(mul(sigmoid(gate(1)), c), mul(sigmoid(gate(0)), tanh(gate(2))));
      h = mul(sigmoid(gate(3)), tanh(c));
      steps[t] = h;
    }
    return stack(steps, 1);
  }
}

import { backendFor } from "../backend/index.js";
import type { Tensor } from "../tensor/index.js";
import { Optimizer, ParamGroup, ParamsArg } from "./optimizer.js";

export interface AdamWHyper {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

/** torch.optim.AdamW (decoupled weight decay, bias-corrected), one fused kernel per tensor. */
export class AdamW extends Optimizer<AdamWHyper> {
  constructor(params: ParamsArg<AdamWHyper>, opts: Partial<AdamWHyper> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01, ...opts });
  }

  protected update(p: Tensor, grad: Tensor, g: ParamGroup<AdamWHyper>): void {
    const m = this.buffer(p, "expAvg"), v = this.buffer(p, "expAvgSq");
    const P = p.f, G = grad.f;
    backendFor(P, G).adamwStep(P, G, m, v, p.numel, g.lr, g.betas[0], g.betas[1], g.eps, g.weightDecay, this.stepCount);
  }
}

import type { Tensor } from "../tensor/index.js";
import { Optimizer, ParamGroup, ParamsArg } from "./optimizer.js";

export interface SGDHyper {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

/** torch.optim.SGD: L2 weight decay added to the gradient, momentum buffer seeded with the first gradient. */
export class SGD extends Optimizer<SGDHyper> {
  constructor(params: ParamsArg<SGDHyper>, opts: Partial<SGDHyper> & { lr: number }) {
    super(params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...opts });
  }

  protected update(p: Tensor, grad: Tensor, g: ParamGroup<SGDHyper>): void {
    const P = p.f, G = grad.f, n = p.numel;
    const fresh = !this.state.get(p)?.momentumBuffer;
    const buf = g.momentum !== 0 ? this.buffer(p, "momentumBuffer") : null;
    for (let i = 0; i < n; i++) {
      let d = G[i] + g.weightDecay * P[i];
      if (buf) {
        buf[i] = fresh ? d : g.momentum * buf[i] + (1 - g.dampening) * d;
        d = g.nesterov ? d + g.momentum * buf[i] : buf[i];
      }
      P[i] -= g.lr * d;
    }
  }
}

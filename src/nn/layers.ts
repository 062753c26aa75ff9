// The basic layers, named and shaped as in torch.nn so state_dict keys line up.
import {
  Tensor, add, dropout, embedding, gelu, layerNorm, linear, relu, rmsNorm, silu, tanh, zeros,
} from "../tensor/index.js";
import { constant_, linearDefault_, normal_ } from "./init.js";
import { Module } from "./module.js";

export class Linear extends Module {
  weight: Tensor;
  bias: Tensor | null;

  constructor(readonly inFeatures: number, outFeatures: number, opts: { bias?: boolean } = {}) {
    super();
    this.weight = this.registerParameter("weight", zeros([outFeatures, inFeatures]));
    this.bias = this.registerParameter("bias", opts.bias === false ? null : zeros([outFeatures]));
    linearDefault_(this.weight, this.bias, inFeatures);
  }

  /** Read from the weight, which resizeTokenEmbeddings replaces with one of another size. */
  get outFeatures(): number {
    return this.weight.shape[0]!;
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

/** GPT-2's Conv1D: a linear layer whose weight is stored [in, out]. */
export class Conv1D extends Module {
  weight: Tensor;
  bias: Tensor;

  constructor(readonly outFeatures: number, readonly inFeatures: number) {
    super();
    this.weight = this.registerParameter("weight", normal_(zeros([inFeatures, outFeatures]), 0, 0.02));
    this.bias = this.registerParameter("bias", zeros([outFeatures]));
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias, true);
  }
}

export class Embedding extends Module {
  weight: Tensor;

  constructor(numEmbeddings: number, readonly embeddingDim: number, readonly paddingIdx?: number) {
    super();
    this.weight = this.registerParameter("weight", normal_(zeros([numEmbeddings, embeddingDim])));
    if (paddingIdx !== undefined) this.weight.data.fill(0, paddingIdx * embeddingDim, (paddingIdx + 1) * embeddingDim);
  }

  /** Read from the weight, which resizeTokenEmbeddings replaces. */
  get numEmbeddings(): number {
    return this.weight.shape[0]!;
  }

  forward(ids: Tensor): Tensor {
    return embedding(this.weight, ids, this.paddingIdx);
  }
}

export class LayerNorm extends Module {
  weight: Tensor;
  bias: Tensor | null;

  /** bias: false is torch's LayerNorm(bias=False) (ModernBERT's norm_bias), with no bias parameter at all. */
  constructor(readonly normalizedShape: number, readonly eps = 1e-5, opts: { bias?: boolean } = {}) {
    super();
    this.weight = this.registerParameter("weight", constant_(zeros([normalizedShape]), 1));
    this.bias = this.registerParameter("bias", opts.bias === false ? null : zeros([normalizedShape]));
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}

export class RMSNorm extends Module {
  weight: Tensor;
  /** Gemma's variant: the scale is (1 + weight), so the weight starts at 0. */
  readonly unitOffset: boolean;

  constructor(readonly normalizedShape: number, readonly eps = 1e-6, opts: { unitOffset?: boolean } = {}) {
    super();
    this.unitOffset = opts.unitOffset ?? false;
    this.weight = this.registerParameter("weight", constant_(zeros([normalizedShape]), this.unitOffset ? 0 : 1));
  }

  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.unitOffset ? add(this.weight, 1) : this.weight, this.eps);
  }
}

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
  }

  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training);
  }
}

/** A parameter-free function as a module, so Sequential can hold activations. */
export class Activation extends Module {
  constructor(readonly fn: (x: Tensor) => Tensor, readonly label: string) {
    super();
  }

  forward(x: Tensor): Tensor {
    return this.fn(x);
  }
}

export const ReLU = () => new Activation(relu, "ReLU");
export const Tanh = () => new Activation(tanh, "Tanh");
export const SiLU = () => new Activation(silu, "SiLU");
export const GELU = (approximate: "none" | "tanh" = "none") => new Activation((x) => gelu(x, approximate), "GELU");

// A LoRA-wrapped linear layer: y = base(x) + B(A(dropout(x))) * scaling, per named adapter.
// Works for torch-style Linear weights [out, in] and GPT-2 Conv1D weights [in, out] (fan_in_fan_out).
import { releaseIntermediates } from "../../../models/fused-layers.js";
import { Dropout, Linear, Module, ModuleDict, init } from "../../../nn/index.js";
import { Tensor, addLinear, linear, matmul, noGrad, scale, transpose } from "../../../tensor/index.js";
import type { AdapterLayer } from "../../tuner.js";

export type LinearLike = Module & { weight: Tensor; bias: Tensor | null; forward(x: Tensor): Tensor };

export interface LoraAdapterSpec {
  r: number;
  alpha: number;
  dropout: number;
  useRslora: boolean;
  init: boolean | "gaussian";
}

export class LoraLinear extends Module implements AdapterLayer {
  readonly isAdapterLayer = true;
  readonly baseLayer: LinearLike;
  readonly loraA: ModuleDict<Linear>;
  readonly loraB: ModuleDict<Linear>;
  readonly loraDropout: ModuleDict<Dropout>;
  readonly scaling = new Map<string, number>();
  activeAdapter: string | null = null;
  private mergedAdapters: string[] = [];

  /** fanInFanOut: the base weight is stored [in, out]. */
  constructor(base: LinearLike, readonly fanInFanOut: boolean) {
    super();
    this.baseLayer = this.addModule("base_layer", base);
    this.loraDropout = this.addModule("lora_dropout", new ModuleDict<Dropout>());
    this.loraA = this.addModule("lora_A", new ModuleDict<Linear>());
    this.loraB = this.addModule("lora_B", new ModuleDict<Linear>());
  }

  get inFeatures(): number { return this.baseLayer.weight.shape[this.fanInFanOut ? 0 : 1]; }
  get outFeatures(): number { return this.baseLayer.weight.shape[this.fanInFanOut ? 1 : 0]; }
  get merged(): boolean { return this.mergedAdapters.length > 0; }

  addAdapter(name: string, spec: LoraAdapterSpec): void {
    const a = new Linear(this.inFeatures, spec.r, { bias: false });
    const b = new Linear(spec.r, this.outFeatures, { bias: false });
    // PEFT: A as nn.Linear's kaiming-uniform (or N(0, 1/r) for "gaussian"), B zero, so a fresh
    // adapter leaves the model's outputs unchanged. init=false leaves both random (for tests).
    if (spec.init === "gaussian") init.normal_(a.weight, 0, 1 / spec.r);
    if (spec.init !== false) init.constant_(b.weight, 0);
    this.loraDropout.set(name, new Dropout(spec.dropout));
    this.loraA.set(name, a);
    this.loraB.set(name, b);
    this.scaling.set(name, spec.useRslora ? spec.alpha / Math.sqrt(spec.r) : spec.alpha / spec.r);
  }

  adapterNames(): string[] {
    return this.loraA.keys();
  }

  forward(x: Tensor): Tensor {
    const y = this.baseLayer.forward(x);
    const name = this.activeAdapter;
    if (name === null || this.merged || !this.loraA.has(name)) return y;
    const dropped = this.loraDropout.get(name)!.forward(x), h = linear(dropped, this.loraA.get(name)!.weight, null);
    return releaseIntermediates(addLinear(y, h, this.loraB.get(name)!.weight, this.scaling.get(name)!), y, h,
      ...(dropped === x ? [] : [dropped]));
  }

  /** scaling * B @ A in the base weight's layout. */
  deltaWeight(name: string): Tensor {
    return noGrad(() => {
      const ba = scale(matmul(this.loraB.get(name)!.weight, this.loraA.get(name)!.weight), this.scaling.get(name)!);
      return this.fanInFanOut ? transpose(ba, 0, 1) : ba;
    });
  }

  merge(name: string): void {
    if (this.mergedAdapters.includes(name)) return;
    this.addToBase(this.deltaWeight(name), 1);
    this.mergedAdapters.push(name);
  }

  unmerge(): void {
    while (this.mergedAdapters.length) this.addToBase(this.deltaWeight(this.mergedAdapters.pop()!), -1);
  }

  /** base += sign * delta, written back with copy_ so a bf16 base weight is re-rounded (as PEFT merges in the
   *  base weight's dtype) rather than changed in a temporary float32 copy. */
  private addToBase(delta: Tensor, sign: number): void {
    const weight = this.baseLayer.weight, w = weight.data, d = delta.data;
    for (let i = 0; i < w.length; i++) w[i] += sign * d[i];
    if (weight.dtype === "bfloat16") weight.copy_(w);
  }
}

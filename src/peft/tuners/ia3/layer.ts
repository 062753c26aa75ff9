// An (IA)³-wrapped linear layer: a learned vector rescales the layer's output (y = base(x) * l) or,
// for feed-forward modules, its input (y = base(x * l)). Works for torch Linear weights [out, in]
// and GPT-2 Conv1D weights [in, out].
import { Conv1D, Module, type Linear } from "../../../nn/index.js";
import { Tensor, flatten, mul, ones, randn } from "../../../tensor/index.js";
import type { AdapterLayer } from "../../tuner.js";

export type Projection = Linear | Conv1D;

/** torch's nn.ParameterDict: each adapter's vector is itself the parameter `ia3_l.<adapter>`, as in
 *  PEFT, so the saved key ends in `ia3_l` once the adapter name is dropped. */
class ParameterDict extends Module {
  readonly entries = new Map<string, Tensor>();

  set(name: string, t: Tensor): void {
    this.entries.set(name, this.registerParameter(name, t));
  }

  get(name: string): Tensor | undefined { return this.entries.get(name); }
  has(name: string): boolean { return this.entries.has(name); }
  keys(): string[] { return [...this.entries.keys()]; }
}

export class IA3Linear extends Module implements AdapterLayer {
  readonly isAdapterLayer = true;
  readonly baseLayer: Projection;
  readonly ia3L: ParameterDict;
  activeAdapter: string | null = null;
  private mergedAdapters: string[] = [];

  constructor(base: Projection, readonly isFeedforward: boolean) {
    super();
    this.baseLayer = this.addModule("base_layer", base);
    this.ia3L = this.addModule("ia3_l", new ParameterDict());
  }

  get fanInFanOut(): boolean { return this.baseLayer instanceof Conv1D; }
  get merged(): boolean { return this.mergedAdapters.length > 0; }

  /** PEFT's shapes, which the saved file carries: [1, in] for feed-forward, [out, 1] otherwise. */
  addAdapter(name: string, initOnes: boolean): void {
    const shape = this.isFeedforward ? [1, this.baseLayer.inFeatures] : [this.baseLayer.outFeatures, 1];
    this.ia3L.set(name, initOnes ? ones(shape) : randn(shape));
  }

  adapterNames(): string[] {
    return this.ia3L.keys();
  }

  forward(x: Tensor): Tensor {
    const name = this.activeAdapter;
    if (name === null || this.merged || !this.ia3L.has(name)) return this.baseLayer.forward(x);
    const l = flatten(this.ia3L.get(name)!);
    return this.isFeedforward ? this.baseLayer.forward(mul(x, l)) : mul(this.baseLayer.forward(x), l);
  }

  /** Multiplies (or divides) the weight along the scaled axis, and the bias for output scaling. */
  private fold(name: string, op: (w: number, l: number) => number): void {
    const l = this.ia3L.get(name)!.data, w = this.baseLayer.weight;
    const cols = w.shape[1];
    // Axis 0 of a Linear weight is out, of a Conv1D weight in.
    const alongRows = this.isFeedforward === this.fanInFanOut;
    for (let i = 0; i < w.numel; i++) w.data[i] = op(w.data[i], l[alongRows ? Math.floor(i / cols) : i % cols]);
    const b = this.baseLayer.bias;
    if (!this.isFeedforward && b) for (let i = 0; i < b.numel; i++) b.data[i] = op(b.data[i], l[i]);
  }

  merge(name: string): void {
    if (this.mergedAdapters.includes(name) || !this.ia3L.has(name)) return;
    this.fold(name, (w, l) => w * l);
    this.mergedAdapters.push(name);
  }

  /** As PEFT: division by l + 1e-8 (summed in float32), so a zero entry does not blow up; hence
   *  not exact for tiny entries. */
  unmerge(): void {
    while (this.mergedAdapters.length) this.fold(this.mergedAdapters.pop()!, (w, l) => w / Math.fround(l + 1e-8));
  }
}

// A bottleneck adapter after a sub-layer's output projection: y' = y + up(act(down(dropout(y)))).
// Wrapping the projection lets it be injected, switched and saved exactly like LoRA's layers.
import { Dropout, Linear, Module, ModuleDict, init, type Conv1D } from "../../../nn/index.js";
import { Tensor, add, gelu, relu, tanh } from "../../../tensor/index.js";
import type { AdapterLayer } from "../../tuner.js";
import type { AdapterNonLinearity } from "./config.js";

type Projection = Linear | Conv1D;

const ACTIVATIONS: Record<AdapterNonLinearity, (x: Tensor) => Tensor> = { relu, gelu: (x) => gelu(x), tanh };

export interface BottleneckSpec {
  size: number;
  nonLinearity: AdapterNonLinearity;
  dropout: number;
  initScale: number;
}

export class BottleneckAdapterLayer extends Module implements AdapterLayer {
  readonly isAdapterLayer = true;
  readonly baseLayer: Projection;
  readonly adapterDown: ModuleDict<Linear>;
  readonly adapterUp: ModuleDict<Linear>;
  readonly adapterDropout: ModuleDict<Dropout>;
  private readonly nonLinearity = new Map<string, AdapterNonLinearity>();
  activeAdapter: string | null = null;

  constructor(base: Projection) {
    super();
    this.baseLayer = this.addModule("base_layer", base);
    this.adapterDropout = this.addModule("adapter_dropout", new ModuleDict<Dropout>());
    this.adapterDown = this.addModule("adapter_down", new ModuleDict<Linear>());
    this.adapterUp = this.addModule("adapter_up", new ModuleDict<Linear>());
  }

  get merged(): boolean { return false; }

  addAdapter(name: string, spec: BottleneckSpec): void {
    const hidden = this.baseLayer.outFeatures;
    const down = new Linear(hidden, spec.size), up = new Linear(spec.size, hidden);
    // Near-identity (Houlsby): a small random down-projection and a zero up-projection.
    init.normal_(down.weight, 0, spec.initScale);
    init.constant_(down.bias!, 0);
    init.constant_(up.weight, 0);
    init.constant_(up.bias!, 0);
    this.adapterDropout.set(name, new Dropout(spec.dropout));
    this.adapterDown.set(name, down);
    this.adapterUp.set(name, up);
    this.nonLinearity.set(name, spec.nonLinearity);
  }

  adapterNames(): string[] {
    return this.adapterDown.keys();
  }

  forward(x: Tensor): Tensor {
    const y = this.baseLayer.forward(x);
    const name = this.activeAdapter;
    if (name === null || !this.adapterDown.has(name)) return y;
    const h = this.adapterDown.get(name)!.forward(this.adapterDropout.get(name)!.forward(y));
    return add(y, this.adapterUp.get(name)!.forward(ACTIVATIONS[this.nonLinearity.get(name)!](h)));
  }

  merge(): void {
    throw new Error("bottleneck adapters add a non-linear path and cannot be merged into the base weights; " +
      "keep the PeftModel for inference, or use unload() to drop the adapters");
  }

  /** Nothing to undo: merge never succeeds. */
  unmerge(): void {}
}

// The toy method's layer and tuner: a trainable scale per output feature of chosen Linear layers,
// y = base(x) * s, s starting at ones (so a fresh adapter changes nothing). It folds into the weights: row i of the
// weight and bias i times s_i.
import { Tensor, familyOf, mul, nn, ones, type AdapterLayer, type InjectingTuner } from "../../../src/index.js";
import type { FeatureScaleConfig } from "./index.js";

/** Each adapter's vector is a parameter named after the adapter, so PEFT's save rule drops the name: the file's key
 *  ends in `feature_scale`. */
class ScaleDict extends nn.Module {
  readonly vectors = new Map<string, Tensor>();

  add(name: string, size: number): void {
    this.vectors.set(name, this.registerParameter(name, ones([size])));
  }
}

export class FeatureScaleLinear extends nn.Module implements AdapterLayer {
  readonly isAdapterLayer = true;
  readonly baseLayer: nn.Linear;
  readonly scales: ScaleDict;
  activeAdapter: string | null = null;
  private mergedAdapters: string[] = [];

  constructor(base: nn.Linear) {
    super();
    this.baseLayer = this.addModule("base_layer", base);
    this.scales = this.addModule("feature_scale", new ScaleDict());
  }

  get merged(): boolean {
    return this.mergedAdapters.length > 0;
  }

  adapterNames(): string[] {
    return [...this.scales.vectors.keys()];
  }

  forward(x: Tensor): Tensor {
    const s = this.activeAdapter === null || this.merged ? undefined : this.scales.vectors.get(this.activeAdapter);
    return s ? mul(this.baseLayer.forward(x), s) : this.baseLayer.forward(x);
  }

  private fold(name: string, op: (w: number, s: number) => number): void {
    const s = this.scales.vectors.get(name)!.data, { weight, bias } = this.baseLayer;
    const cols = weight.shape[1];
    for (let i = 0; i < weight.numel; i++) weight.data[i] = op(weight.data[i], s[Math.floor(i / cols)]);
    if (bias) for (let i = 0; i < bias.numel; i++) bias.data[i] = op(bias.data[i], s[i]);
  }

  merge(name: string): void {
    if (this.mergedAdapters.includes(name) || !this.scales.vectors.has(name)) return;
    this.fold(name, (w, s) => w * s);
    this.mergedAdapters.push(name);
  }

  unmerge(): void {
    while (this.mergedAdapters.length) this.fold(this.mergedAdapters.pop()!, (w, s) => w / s);
  }
}

export const featureScaleTuner: InjectingTuner<FeatureScaleConfig> = {
  kind: "inject",
  adapterDictNames: ["feature_scale"],

  inject(model, config, name) {
    // No targets given: the ones LoRA uses for the model's family (attention's query and value projections).
    config.targetModules ??= [...familyOf(model.config.modelType).peftTargets[model.config.modelType].lora];
    const targets = config.targetModules;
    let count = 0;
    for (const [path, m] of [...model.namedModules()]) {
      if (!targets.some((t) => path === t || path.endsWith(`.${t}`))) continue;
      if (!(m instanceof FeatureScaleLinear || m instanceof nn.Linear)) continue;
      const layer = m instanceof FeatureScaleLinear ? m : new FeatureScaleLinear(m);
      layer.scales.add(name, layer.baseLayer.outFeatures);
      if (layer !== m) model.setSubmodule(path, layer);
      count++;
    }
    if (count === 0) throw new Error(`FeatureScaleConfig: no Linear layer named ${targets.join(", ")} in the model`);
  },
};

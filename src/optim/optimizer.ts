// The optimizer shape torch users know: parameter groups with their own hyperparameters, per-parameter
// state, zeroGrad/step, and a state dict that checkpoints can save and resume exactly.
import type { Tensor } from "../tensor/index.js";

export type ParamGroup<H> = H & { params: Tensor[] };
export type ParamsArg<H> = Iterable<Tensor> | ParamGroup<Partial<H>>[];

export interface OptimizerStateDict {
  step: number;
  groups: Record<string, number>[];
  /** Per parameter (by group order), copies of the named state buffers. */
  state: Record<string, Float32Array | Float64Array>[];
}

export abstract class Optimizer<H extends { lr: number }> {
  readonly paramGroups: ParamGroup<H>[];
  protected readonly state = new Map<Tensor, Record<string, Float32Array | Float64Array>>();
  stepCount = 0;

  constructor(params: ParamsArg<H>, defaults: H) {
    const list = [...params] as (Tensor | ParamGroup<Partial<H>>)[];
    const groups = list.length > 0 && !("params" in (list[0] as object))
      ? [{ params: list as Tensor[] } as ParamGroup<Partial<H>>]
      : (list as ParamGroup<Partial<H>>[]);
    this.paramGroups = groups.map((g) => ({ ...defaults, ...g, params: [...g.params] }));
    if (this.paramGroups.every((g) => g.params.length === 0)) throw new Error("optimizer got an empty parameter list");
  }

  zeroGrad(): void {
    for (const g of this.paramGroups) for (const p of g.params) p.clearGrad();
  }

  step(): void {
    this.stepCount++;
    for (const g of this.paramGroups) for (const p of g.params) {
      const grad = p.peekGrad();
      if (grad) this.update(p, grad, g);
    }
  }

  protected abstract update(p: Tensor, grad: Tensor, group: ParamGroup<H>): void;

  protected buffer(p: Tensor, name: string): Float32Array | Float64Array {
    let s = this.state.get(p);
    if (!s) this.state.set(p, (s = {}));
    return (s[name] ??= p.data instanceof Float64Array ? new Float64Array(p.numel) : new Float32Array(p.numel));
  }

  stateDict(): OptimizerStateDict {
    const state: Record<string, Float32Array | Float64Array>[] = [];
    const groups = this.paramGroups.map(({ params, ...h }) => {
      for (const p of params) {
        const s = this.state.get(p) ?? {};
        state.push(Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v.slice()])));
      }
      return h as unknown as Record<string, number>;
    });
    return { step: this.stepCount, groups, state };
  }

  /** Accepts buffers as typed arrays or plain number arrays (e.g. from JSON). */
  loadStateDict(sd: { step: number; groups: Record<string, unknown>[]; state: Record<string, ArrayLike<number>>[] }): void {
    if (sd.groups.length !== this.paramGroups.length) throw new Error(`optimizer state has ${sd.groups.length} groups, expected ${this.paramGroups.length}`);
    this.stepCount = sd.step;
    let i = 0;
    this.paramGroups.forEach((g, gi) => {
      Object.assign(g, sd.groups[gi]);
      for (const p of g.params) {
        const s = sd.state[i++] ?? {};
        const restored: Record<string, Float32Array | Float64Array> = {};
        for (const [k, v] of Object.entries(s)) {
          if (v.length !== p.numel) throw new Error(`optimizer state "${k}" has ${v.length} values for a parameter of ${p.numel}`);
          restored[k] = p.data instanceof Float64Array ? Float64Array.from(v) : Float32Array.from(v);
        }
        this.state.set(p, restored);
      }
    });
  }
}

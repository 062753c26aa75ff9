// Containers whose children are named by position (ModuleList, Sequential) or by key (ModuleDict).
import type { Tensor } from "../tensor/index.js";
import { Module } from "./module.js";

export class ModuleList<M extends Module = Module> extends Module {
  readonly items: M[] = [];

  constructor(items: Iterable<M> = []) {
    super();
    for (const m of items) this.append(m);
  }

  append(m: M): this {
    this.items.push(this.addModule(String(this.items.length), m));
    return this;
  }

  get length(): number { return this.items.length; }
  at(i: number): M { return this.items[i < 0 ? i + this.items.length : i]; }
  [Symbol.iterator](): Iterator<M> { return this.items[Symbol.iterator](); }
}

type Layer = Module & { forward(x: Tensor): Tensor };

export class Sequential extends ModuleList<Layer> {
  constructor(...layers: Layer[]) {
    super(layers);
  }

  forward(x: Tensor): Tensor {
    return this.items.reduce((h, m) => m.forward(h), x);
  }
}

export class ModuleDict<M extends Module = Module> extends Module {
  readonly entries = new Map<string, M>();

  set(name: string, m: M): M {
    this.entries.set(name, this.addModule(name, m));
    return m;
  }

  get(name: string): M | undefined { return this.entries.get(name); }
  has(name: string): boolean { return this.entries.has(name); }
  keys(): string[] { return [...this.entries.keys()]; }
}

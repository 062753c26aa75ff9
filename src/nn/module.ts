// Module: a tree of named parameters, buffers and submodules whose dotted names are PyTorch state_dict
// keys. Registered names are the checkpoint's (snake_case for Hugging Face models); the camelCase
// properties that forward() reads are kept pointing at the registered objects, so swapping a submodule
// (as PEFT does when it injects an adapter) is one call: setSubmodule.
import { Tensor } from "../tensor/index.js";

export interface LoadResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

export class Module {
  training = true;
  private readonly params = new Map<string, Tensor | null>();
  private readonly buffers = new Map<string, Tensor>();
  private readonly nonPersistent = new Set<string>();
  private readonly modules = new Map<string, Module>();

  // Registration returns its argument so constructors read `this.weight = this.registerParameter(...)`.
  registerParameter<T extends Tensor | null>(name: string, t: T): T {
    if (t && !t.isFloat) throw new TypeError(`parameter ${name} must be floating point`);
    if (t && t.isLeaf && !this.params.has(name)) t.requiresGrad = true;
    this.params.set(name, t);
    return t;
  }

  registerBuffer(name: string, t: Tensor, persistent = true): Tensor {
    this.buffers.set(name, t);
    if (!persistent) this.nonPersistent.add(name);
    return t;
  }

  addModule<M extends Module>(name: string, m: M): M {
    if (name.includes(".") || name === "") throw new Error(`invalid module name "${name}"`);
    this.modules.set(name, m);
    return m;
  }

  /** Replaces a parameter everywhere this module refers to it (tying, loading into a new tensor). */
  setParameter(name: string, t: Tensor): void {
    const old = this.params.get(name);
    if (old === undefined) throw new Error(`no parameter "${name}" in ${this.constructor.name}`);
    this.params.set(name, t);
    this.rebindProperties(old, t);
  }

  getSubmodule(path: string): Module {
    if (path === "") return this;
    let m: Module = this;
    for (const part of path.split(".")) {
      const next = m.modules.get(part);
      if (!next) throw new Error(`no submodule "${path}" (missing "${part}") in ${this.constructor.name}`);
      m = next;
    }
    return m;
  }

  /** Swaps the submodule at `path` for `replacement`, also in the parent's properties. */
  setSubmodule(path: string, replacement: Module): void {
    const cut = path.lastIndexOf(".");
    const parent = this.getSubmodule(cut < 0 ? "" : path.slice(0, cut));
    const name = path.slice(cut + 1);
    const old = parent.modules.get(name);
    if (!old) throw new Error(`no submodule "${path}" in ${this.constructor.name}`);
    parent.modules.set(name, replacement);
    parent.rebindProperties(old, replacement);
  }

  private rebindProperties(old: unknown, now: unknown): void {
    const self = this as unknown as Record<string, unknown>;
    for (const key of Object.keys(self)) {
      const v = self[key];
      if (v === old) self[key] = now;
      else if (Array.isArray(v)) v.forEach((x, i) => { if (x === old) v[i] = now; });
      else if (v instanceof Map) for (const [k, x] of v) if (x === old) v.set(k, now);
    }
  }

  *namedChildren(): Generator<[string, Module]> {
    yield* this.modules;
  }

  *namedModules(prefix = ""): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [n, m] of this.modules) yield* m.namedModules(prefix ? `${prefix}.${n}` : n);
  }

  /** Each distinct parameter once, under its first name (tied weights appear once, as in torch). */
  *namedParameters(prefix = ""): Generator<[string, Tensor]> {
    const seen = new Set<Tensor>();
    for (const [mp, m] of this.namedModules(prefix)) {
      for (const [n, p] of m.params) {
        if (!p || seen.has(p)) continue;
        seen.add(p);
        yield [mp ? `${mp}.${n}` : n, p];
      }
    }
  }

  parameters(): Tensor[] {
    return [...this.namedParameters()].map(([, p]) => p);
  }

  *namedBuffers(prefix = ""): Generator<[string, Tensor]> {
    for (const [mp, m] of this.namedModules(prefix))
      for (const [n, b] of m.buffers) yield [mp ? `${mp}.${n}` : n, b];
  }

  /** Every parameter and persistent buffer by full name, tied ones under each name (torch state_dict). */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [mp, m] of this.namedModules()) {
      const key = (n: string) => (mp ? `${mp}.${n}` : n);
      for (const [n, p] of m.params) if (p) out.set(key(n), p);
      for (const [n, b] of m.buffers) if (!m.nonPersistent.has(n)) out.set(key(n), b);
    }
    return out;
  }

  /** Copies values into this module's tensors. Shapes must match; strict mode throws on any missing or
   *  unexpected key, non-strict returns them. */
  loadStateDict(sd: Map<string, Tensor> | Record<string, Tensor>, strict = true): LoadResult {
    const src = sd instanceof Map ? sd : new Map(Object.entries(sd));
    const own = this.stateDict();
    const missingKeys: string[] = [];
    for (const [k, t] of own) {
      const v = src.get(k);
      if (!v) { missingKeys.push(k); continue; }
      if (v.numel !== t.numel || v.shape.join() !== t.shape.join())
        throw new Error(`loadStateDict: ${k} has shape [${v.shape}] in the checkpoint but [${t.shape}] in the model`);
      t.copy_(v.dtype === t.dtype ? v : v.to(t.dtype));
    }
    const unexpectedKeys = [...src.keys()].filter((k) => !own.has(k));
    if (strict && (missingKeys.length || unexpectedKeys.length)) {
      throw new Error(`loadStateDict (strict): missing keys [${missingKeys.join(", ")}], unexpected keys [${unexpectedKeys.join(", ")}]`);
    }
    return { missingKeys, unexpectedKeys };
  }

  /** A deep copy with fresh parameter and buffer storage (copy.deepcopy of a torch module).
   *  Tensors shared within the module (tied weights) stay shared in the copy. */
  clone(): this {
    const copies = new Map<unknown, unknown>();
    const copyTensor = (t: Tensor): Tensor => {
      let c = copies.get(t) as Tensor | undefined;
      if (!c) {
        c = t.clone();
        c.requiresGrad = t.requiresGrad;
        copies.set(t, c);
      }
      return c;
    };
    const copyModule = (m: Module): Module => {
      const existing = copies.get(m);
      if (existing) return existing as Module;
      const c = Object.create(Object.getPrototypeOf(m)) as Module;
      copies.set(m, c);
      Object.assign(c, m);
      const w = c as unknown as { params: Map<string, Tensor | null>; buffers: Map<string, Tensor>; modules: Map<string, Module>; nonPersistent: Set<string> };
      w.params = new Map([...m.params].map(([k, v]) => [k, v && copyTensor(v)]));
      w.buffers = new Map([...m.buffers].map(([k, v]) => [k, copyTensor(v)]));
      w.modules = new Map([...m.modules].map(([k, v]) => [k, copyModule(v)]));
      w.nonPersistent = new Set(m.nonPersistent);
      // Properties may hold registered objects directly or inside arrays, maps and plain records.
      const remap = (v: unknown): unknown => {
        if (v instanceof Tensor || v instanceof Module) return copies.get(v) ?? v;
        if (Array.isArray(v)) return v.map(remap);
        if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, remap(x)]));
        if (v && Object.getPrototypeOf(v) === Object.prototype)
          return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, remap(x)]));
        return v;
      };
      const self = c as unknown as Record<string, unknown>;
      for (const key of Object.keys(self)) if (!["params", "buffers", "modules", "nonPersistent"].includes(key)) self[key] = remap(self[key]);
      return c;
    };
    return copyModule(this) as this;
  }

  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Sets requiresGrad on every parameter (torch's requires_grad_). A frozen bfloat16 weight made trainable is
   *  widened to float32 first: trainable weights and their optimizer state are float32. */
  requiresGrad(flag = true): this {
    if (flag) this.mapParameters((p) => p.dtype === "bfloat16", (p) => p.to("float32"));
    for (const p of this.parameters()) p.requiresGrad = flag;
    return this;
  }

  /** Replaces every parameter `pick` selects by `cast(p)` wherever it is registered, one cast per tensor so
   *  tied parameters stay tied. The cast keeps requiresGrad unless it is a bfloat16 tensor (always frozen). */
  mapParameters(pick: (p: Tensor) => boolean, cast: (p: Tensor) => Tensor): void {
    const casts = new Map<Tensor, Tensor>();
    for (const [, m] of this.namedModules()) {
      for (const [name, p] of m.params) {
        if (!p || !pick(p)) continue;
        let c = casts.get(p);
        if (!c) {
          c = cast(p);
          if (c.dtype !== "bfloat16") c.requiresGrad = p.requiresGrad;
          casts.set(p, c);
        }
        m.setParameter(name, c);
      }
    }
  }

  zeroGrad(): void {
    for (const p of this.parameters()) p.clearGrad();
  }

  numParameters(onlyTrainable = false): number {
    return this.parameters().reduce((s, p) => s + (onlyTrainable && !p.requiresGrad ? 0 : p.numel), 0);
  }
}

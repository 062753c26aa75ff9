// Broadcasting arithmetic and pointwise functions, each forward beside its derivative.
import type { FloatArray } from "../../backend/backend.js";
import { backendFor } from "../../backend/index.js";
import { result } from "../autograd.js";
import { at, broadcastShapes, reader, sumTo } from "../broadcast.js";
import { Tensor, TensorData, alloc, allocEmpty, emptyLike, floatLike, full } from "../tensor.js";

type Operand = Tensor | number;

function asOperand(x: Operand, like: Tensor): Tensor {
  return x instanceof Tensor ? x : full([], x, { dtype: like.isFloat ? like.dtype : "float32" });
}

function outDtype(a: Tensor, b: Tensor) {
  if (a.dtype === "float64" || b.dtype === "float64") return "float64" as const;
  if (a.dtype === "float32" || b.dtype === "float32") return "float32" as const;
  return "int32" as const;
}

type BinaryKind = "add" | "sub" | "mul" | "div";

function binary(kind: BinaryKind, x: Operand, y: Operand): Tensor {
  const a = x instanceof Tensor ? x : asOperand(x, y as Tensor);
  const b = asOperand(y, a);
  const shape = broadcastShapes(a.shape, b.shape);
  const ra = reader(shape, a.shape), rb = reader(shape, b.shape);
  const n = shape.reduce((p, d) => p * d, 1);
  const dtype = outDtype(a, b);
  if (dtype === "int32" && kind === "div") throw new TypeError("integer division is not supported; convert to float first");
  const out = allocEmpty(dtype, n);
  const ad = a.data, bd = b.data;
  const sameFloats = ra.kind === "same" && rb.kind === "same" && out instanceof Float32Array &&
    ad instanceof Float32Array && bd instanceof Float32Array;
  if (sameFloats && (kind === "add" || kind === "mul")) {
    backendFor(out)[kind](ad, bd, out, n);
  } else if (ra.kind === "same" && rb.kind === "same") {
    switch (kind) {
      case "add": for (let i = 0; i < n; i++) out[i] = ad[i] + bd[i]; break;
      case "sub": for (let i = 0; i < n; i++) out[i] = ad[i] - bd[i]; break;
      case "mul": for (let i = 0; i < n; i++) out[i] = ad[i] * bd[i]; break;
      case "div": for (let i = 0; i < n; i++) out[i] = ad[i] / bd[i]; break;
    }
  } else if (ra.kind === "same" && (rb.kind === "period" || rb.kind === "scalar")) {
    // The hot case: bias, scale or mask broadcast over rows.
    const p = rb.kind === "period" ? rb.period : 1;
    for (let base = 0; base < n; base += p) {
      switch (kind) {
        case "add": for (let j = 0; j < p; j++) out[base + j] = ad[base + j] + bd[j]; break;
        case "sub": for (let j = 0; j < p; j++) out[base + j] = ad[base + j] - bd[j]; break;
        case "mul": for (let j = 0; j < p; j++) out[base + j] = ad[base + j] * bd[j]; break;
        case "div": for (let j = 0; j < p; j++) out[base + j] = ad[base + j] / bd[j]; break;
      }
    }
  } else {
    for (let i = 0; i < n; i++) {
      const u = at(ra, ad, i), v = at(rb, bd, i);
      out[i] = kind === "add" ? u + v : kind === "sub" ? u - v : kind === "mul" ? u * v : u / v;
    }
  }
  return result(out, shape, kind, [a, b], (g, needs) => {
    const make = (m: number) => floatLike(g, m);
    let ga: FloatArray | null = null, gb: FloatArray | null = null;
    // Two operands of one shape (a gated MLP's act(gate) * up) skip the broadcast reader per element: that
    // loop was 8% of a small Llama's LoRA step.
    const sameMul = kind === "mul" && ra.kind === "same" && rb.kind === "same";
    const times = (u: FloatArray, v: TensorData, into: FloatArray) => {
      if (v instanceof Int32Array) for (let i = 0; i < n; i++) into[i] = u[i] * v[i];
      else backendFor(u, v, into).mul(u, v, into, n);
    };
    if (needs[0]) {
      if (kind === "add" || kind === "sub") ga = g;
      else {
        ga = emptyLike(g, n); // every element written; sumTo's reduction allocates its own
        if (sameMul) times(g, bd, ga);
        else for (let i = 0; i < n; i++) ga[i] = kind === "mul" ? g[i] * at(rb, bd, i) : g[i] / at(rb, bd, i);
      }
      ga = sumTo(ra, ga, a.numel, make);
    }
    if (needs[1]) {
      if (kind === "add") gb = g;
      else if (sameMul) {
        gb = emptyLike(g, n);
        times(g, ad, gb);
      } else {
        gb = emptyLike(g, n);
        for (let i = 0; i < n; i++) {
          const v = at(rb, bd, i);
          gb[i] = kind === "sub" ? -g[i] : kind === "mul" ? g[i] * at(ra, ad, i) : (-g[i] * at(ra, ad, i)) / (v * v);
        }
      }
      gb = sumTo(rb, gb, b.numel, make);
    }
    return [ga, gb];
  });
}

export const add = (a: Operand, b: Operand): Tensor => binary("add", a, b);
export const sub = (a: Operand, b: Operand): Tensor => binary("sub", a, b);
export const mul = (a: Operand, b: Operand): Tensor => binary("mul", a, b);
export const div = (a: Operand, b: Operand): Tensor => binary("div", a, b);

/** A pointwise function and its derivative written in terms of input x and output y. */
interface Pointwise {
  name: string;
  f: (x: number) => number;
  df: (x: number, y: number) => number;
}

function pointwise(op: Pointwise, x: Tensor): Tensor {
  const xd = x.f, n = x.numel;
  const out = floatLike(xd, n);
  for (let i = 0; i < n; i++) out[i] = op.f(xd[i]);
  return result(out, x.shape, op.name, [x], (g) => {
    const gx = floatLike(g, n);
    for (let i = 0; i < n; i++) gx[i] = g[i] * op.df(xd[i], out[i]);
    return [gx];
  });
}

const POINTWISE = {
  neg: { name: "neg", f: (v) => -v, df: () => -1 },
  exp: { name: "exp", f: Math.exp, df: (_, y) => y },
  log: { name: "log", f: Math.log, df: (v) => 1 / v },
  sqrt: { name: "sqrt", f: Math.sqrt, df: (_, y) => 0.5 / y },
  rsqrt: { name: "rsqrt", f: (v) => 1 / Math.sqrt(v), df: (_, y) => -0.5 * y * y * y },
  abs: { name: "abs", f: Math.abs, df: (v) => Math.sign(v) },
  tanh: { name: "tanh", f: Math.tanh, df: (_, y) => 1 - y * y },
  sigmoid: { name: "sigmoid", f: (v) => 1 / (1 + Math.exp(-v)), df: (_, y) => y * (1 - y) },
  relu: { name: "relu", f: (v) => (v > 0 ? v : 0), df: (v) => (v > 0 ? 1 : 0) },
  sin: { name: "sin", f: Math.sin, df: (v) => Math.cos(v) },
  cos: { name: "cos", f: Math.cos, df: (v) => -Math.sin(v) },
} satisfies Record<string, Pointwise>;

export const neg = (x: Tensor) => pointwise(POINTWISE.neg, x);
export const exp = (x: Tensor) => pointwise(POINTWISE.exp, x);
export const log = (x: Tensor) => pointwise(POINTWISE.log, x);
export const sqrt = (x: Tensor) => pointwise(POINTWISE.sqrt, x);
export const rsqrt = (x: Tensor) => pointwise(POINTWISE.rsqrt, x);
export const abs = (x: Tensor) => pointwise(POINTWISE.abs, x);
export const tanh = (x: Tensor) => pointwise(POINTWISE.tanh, x);
export const sigmoid = (x: Tensor) => pointwise(POINTWISE.sigmoid, x);
export const relu = (x: Tensor) => pointwise(POINTWISE.relu, x);
export const sin = (x: Tensor) => pointwise(POINTWISE.sin, x);
export const cos = (x: Tensor) => pointwise(POINTWISE.cos, x);

export function pow(x: Tensor, p: number): Tensor {
  return pointwise({ name: "pow", f: (v) => Math.pow(v, p), df: (v) => p * Math.pow(v, p - 1) }, x);
}

/** SiLU (swish), x * sigmoid(x): the Llama family's activation. */
export function silu(x: Tensor): Tensor {
  const xd = x.f, n = x.numel;
  const out = emptyLike(xd, n);
  backendFor(xd).siluForward(xd, out, n);
  return result(out, x.shape, "silu", [x], (g) => {
    const gx = emptyLike(g, n);
    backendFor(xd, g).siluBackward(xd, g, gx, n);
    return [gx];
  });
}

/** GELU: exact erf form by default; approximate = "tanh" is GPT-2's gelu_new. */
export function gelu(x: Tensor, approximate: "none" | "tanh" = "none"): Tensor {
  const xd = x.f, n = x.numel, approx = approximate === "tanh";
  const out = emptyLike(xd, n);
  backendFor(xd).geluForward(xd, out, n, approx);
  return result(out, x.shape, "gelu", [x], (g) => {
    const gx = emptyLike(g, n);
    backendFor(xd, g).geluBackward(xd, g, gx, n, approx);
    return [gx];
  });
}

/** out = cond ? a : b, with cond a 0/1 tensor broadcast against both. */
export function where(cond: Tensor, x: Operand, y: Operand): Tensor {
  const a = x instanceof Tensor ? x : full([], x, { dtype: y instanceof Tensor ? y.dtype : "float32" });
  const b = y instanceof Tensor ? y : full([], y, { dtype: a.dtype });
  const shape = broadcastShapes(cond.shape, broadcastShapes(a.shape, b.shape));
  const rc = reader(shape, cond.shape), ra = reader(shape, a.shape), rb = reader(shape, b.shape);
  const n = shape.reduce((p, d) => p * d, 1);
  const out = alloc(outDtype(a, b), n) as TensorData;
  const pick = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    pick[i] = at(rc, cond.data, i) !== 0 ? 1 : 0;
    out[i] = pick[i] ? at(ra, a.data, i) : at(rb, b.data, i);
  }
  return result(out, shape, "where", [a, b], (g, needs) => {
    const make = (m: number) => floatLike(g, m);
    const part = (side: 1 | 0, r: typeof ra, numel: number) => {
      const gs = make(n);
      for (let i = 0; i < n; i++) if (pick[i] === side) gs[i] = g[i];
      return sumTo(r, gs, numel, make);
    };
    return [needs[0] ? part(1, ra, a.numel) : null, needs[1] ? part(0, rb, b.numel) : null];
  });
}

/** x where mask is 0, value where mask is non-zero (torch.masked_fill). */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  return where(mask, value, x);
}

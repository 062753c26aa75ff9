// Reading config.json into typed camelCase configs. Each family declares its fields once as a schema
// (config.json name, kind, default, bounds); the same schema parses, validates and writes back, so
// savePretrained emits exactly the Hugging Face field names.
import { FileFormatError } from "../io/errors.js";
import type { Tensor } from "../tensor/index.js";
import { gelu, relu, silu, tanh } from "../tensor/index.js";

type Scalar = "int" | "float" | "string" | "bool";
/** A scalar, a list of them ("string[]"), an object of name -> scalar ("map<int>"), or any JSON object. */
type Kind = Scalar | `${Scalar}[]` | `map<${Scalar}>` | "object";

export interface Field {
  /** The config.json name; default: the field's name in snake_case (PEFT's rule for adapter_config.json). */
  key?: string;
  /** Several kinds: the value may be any of them (PEFT's target_modules: a list of names or one regex). */
  kind: Kind | readonly Kind[];
  /** Absent: the field is required. */
  default?: number | string | boolean | null | readonly (string | number)[] | Readonly<Record<string, unknown>>;
  nullable?: boolean;
  /** Inclusive bounds for numbers (also each number of a list or map). */
  min?: number;
  max?: number;
  /** Exclusive bounds (probabilities, sizes that must be positive). */
  below?: number;
  above?: number;
  oneOf?: readonly string[];
  /** What the bounds cannot say (a regex that must compile, a setting not supported yet): the problem, or undefined. */
  check?: (value: never) => string | undefined;
}

export type Schema = Record<string, Field>;

type ScalarOf<S, F extends Field> =
  S extends "int" | "float" ? number
  : S extends "bool" ? boolean
  : F extends { oneOf: readonly (infer U)[] } ? U
  : string;

type KindValue<K, F extends Field> =
  K extends `${infer S}[]` ? ScalarOf<S, F>[]
  : K extends `map<${infer S}>` ? Record<string, ScalarOf<S, F>>
  : K extends "object" ? Record<string, unknown>
  : ScalarOf<K, F>;

type ValueOf<F extends Field> = F["kind"] extends readonly (infer K)[] ? KindValue<K, F> : KindValue<F["kind"], F>;

type FieldType<F extends Field> = ValueOf<F> | (F extends { nullable: true } ? null : never);

export type FromSchema<S extends Schema> = { readonly [K in keyof S]: FieldType<S[K]> };

export const snakeCase = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const keyOf = (name: string, f: Field): string => f.key ?? snakeCase(name);

/** Sizes beyond these are a corrupt or hostile config, not a model this library can hold in memory. */
export const LIMITS = { vocab: 10_000_000, hidden: 65_536, ffn: 1_048_576, layers: 1_024, heads: 1_024, positions: 10_000_000 };

/** Fields every Hugging Face config carries for classification heads. */
export interface LabelConfig {
  readonly id2label: Readonly<Record<number, string>>;
  readonly label2id: Readonly<Record<string, number>>;
  /** Not stored in config.json: it is len(id2label). */
  readonly numLabels: number;
  readonly problemType: ProblemType | null;
}

export type ProblemType = "regression" | "single_label_classification" | "multi_label_classification";
const PROBLEM_TYPES: readonly ProblemType[] = ["regression", "single_label_classification", "multi_label_classification"];

export type RawConfig = Record<string, unknown>;

export function configError(file: string, field: string, problem: string): FileFormatError {
  return new FileFormatError(file, `config field "${field}" ${problem}`);
}

export function parseSchema<S extends Schema>(raw: RawConfig, file: string, schema: S): FromSchema<S> {
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(schema)) out[name] = readField(raw, file, keyOf(name, f), f);
  return out as FromSchema<S>;
}

function readField(raw: RawConfig, file: string, key: string, f: Field): unknown {
  const fail = (problem: string): never => { throw configError(file, key, problem); };
  const v = raw[key];
  if (v === undefined) {
    if (f.default === undefined) fail("is required but missing");
    // A fresh copy: configs are mutable, and a shared default list would change every config's.
    return typeof f.default === "object" && f.default !== null ? structuredClone(f.default) : f.default;
  }
  if (v === null) return f.nullable ? null : fail("must not be null");
  const kinds: readonly Kind[] = typeof f.kind === "string" ? [f.kind] : f.kind;
  const kind = kinds.find((k) => shapeFits(k, v));
  if (kind === undefined) return fail(`must be ${kinds.map(describe).join(" or ")}, got ${JSON.stringify(v)}`);
  const element = /^(\w+)\[\]$/.exec(kind) ?? /^map<(\w+)>$/.exec(kind);
  if (!element) {
    if (kind !== "object") { const p = scalarProblem(kind as Scalar, v, f); if (p) fail(p); }
  } else {
    for (const [k, item] of Object.entries(v as object)) {
      const p = shapeFits(element[1] as Scalar, item) ? scalarProblem(element[1] as Scalar, item, f) : `must be ${describe(element[1] as Kind)}, got ${JSON.stringify(item)}`;
      if (p) fail(`${Array.isArray(v) ? `item ${k}` : `entry ${JSON.stringify(k)}`} ${p}`);
    }
  }
  const problem = f.check?.(v as never);
  if (problem) fail(problem);
  return v;
}

function shapeFits(kind: Kind, v: unknown): boolean {
  if (kind.endsWith("[]")) return Array.isArray(v);
  if (kind === "object" || kind.startsWith("map<")) return typeof v === "object" && v !== null && !Array.isArray(v);
  return typeof v === (kind === "int" || kind === "float" ? "number" : kind === "bool" ? "boolean" : "string");
}

function describe(kind: Kind): string {
  const element = /^(\w+)\[\]$/.exec(kind) ?? /^map<(\w+)>$/.exec(kind);
  const names: Record<Scalar, [string, string]> = { int: ["a number", "integers"], float: ["a number", "numbers"], string: ["a string", "strings"], bool: ["true or false", "true/false values"] };
  if (kind === "object") return "an object";
  if (!element) return names[kind as Scalar][0];
  return kind.endsWith("[]") ? `a list of ${names[element[1] as Scalar][1]}` : `an object of name -> ${names[element[1] as Scalar][0].replace(/^an? /, "")}`;
}

/** The problem with a scalar of the right type, or undefined. */
function scalarProblem(kind: Scalar, v: unknown, f: Field): string | undefined {
  if (kind === "int" || kind === "float") {
    const n = v as number;
    if (!Number.isFinite(n)) return `must be a number, got ${JSON.stringify(v)}`;
    if (kind === "int" && !Number.isInteger(n)) return `must be an integer, got ${n}`;
    if (f.min !== undefined && n < f.min) return `must be at least ${f.min}, got ${n}`;
    if (f.max !== undefined && n > f.max) return `must be at most ${f.max}, got ${n} (an absurd size; is the file corrupt?)`;
    if (f.below !== undefined && n >= f.below) return `must be below ${f.below}, got ${n}`;
    if (f.above !== undefined && n <= f.above) return `must be above ${f.above}, got ${n}`;
  }
  if (kind === "string" && f.oneOf && !f.oneOf.includes(v as string)) return `is "${String(v)}", which is not supported (supported: ${f.oneOf.join(", ")})`;
  return undefined;
}

/** The config.json fields for a parsed config: the raw object with every schema field's current value. */
export function schemaToRaw<S extends Schema>(config: FromSchema<S> & { raw: RawConfig }, schema: S): RawConfig {
  const out: RawConfig = { ...config.raw };
  for (const [name, f] of Object.entries(schema)) out[keyOf(name, f)] = (config as Record<string, unknown>)[name];
  return out;
}

/** camelCase overrides to config.json names, for building configs in code. */
export function camelToRaw<S extends Schema>(values: Partial<FromSchema<S>>, schema: S): RawConfig {
  const out: RawConfig = {};
  for (const [name, v] of Object.entries(values)) {
    const f = schema[name];
    if (!f) throw new Error(`unknown config field "${name}" (known: ${Object.keys(schema).join(", ")})`);
    out[keyOf(name, f)] = v;
  }
  return out;
}

export function parseLabels(raw: RawConfig, file: string): LabelConfig {
  let id2label: Record<number, string>;
  const given = raw.id2label;
  if (given === undefined || given === null) {
    // PretrainedConfig's default: num_labels = 2.
    id2label = defaultLabels(2);
  } else {
    if (typeof given !== "object" || Array.isArray(given)) throw configError(file, "id2label", "must be an object of index -> name");
    id2label = {};
    for (const [k, name] of Object.entries(given)) {
      const i = Number(k);
      if (!Number.isInteger(i) || i < 0) throw configError(file, "id2label", `has a key "${k}" that is not a label index`);
      if (typeof name !== "string") throw configError(file, "id2label", `maps ${k} to ${JSON.stringify(name)}, not a string`);
      id2label[i] = name;
    }
  }
  const numLabels = Object.keys(id2label).length;
  if (numLabels === 0) throw configError(file, "id2label", "is empty; a classifier needs at least one label");
  const label2id = readLabel2id(raw, file, id2label);
  const problemType = raw.problem_type ?? null;
  if (problemType !== null && !PROBLEM_TYPES.includes(problemType as ProblemType))
    throw configError(file, "problem_type", `is ${JSON.stringify(problemType)}, not one of ${PROBLEM_TYPES.join(", ")}`);
  return { id2label, label2id, numLabels, problemType: problemType as ProblemType | null };
}

function readLabel2id(raw: RawConfig, file: string, id2label: Record<number, string>): Record<string, number> {
  const given = raw.label2id;
  if (given === undefined || given === null) return Object.fromEntries(Object.entries(id2label).map(([i, n]) => [n, Number(i)]));
  if (typeof given !== "object" || Array.isArray(given)) throw configError(file, "label2id", "must be an object of name -> index");
  for (const [name, i] of Object.entries(given)) {
    if (!Number.isInteger(i)) throw configError(file, "label2id", `maps "${name}" to ${JSON.stringify(i)}, not an integer`);
  }
  return given as Record<string, number>;
}

export function defaultLabels(n: number): Record<number, string> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [i, `LABEL_${i}`]));
}

/** id2label / label2id as config.json stores them (string keys). */
export function labelsToRaw(c: LabelConfig): RawConfig {
  return {
    id2label: Object.fromEntries(Object.entries(c.id2label).map(([i, n]) => [String(i), n])),
    label2id: { ...c.label2id },
    problem_type: c.problemType,
  };
}

/** Overrides applied to config.json before parsing, as from_pretrained(num_labels=..., id2label=...) does.
 *  A numLabels equal to the stored count keeps the stored names, like PretrainedConfig.num_labels. */
export function applyLabelOverrides(raw: RawConfig, opts: { numLabels?: number; id2label?: Record<number, string>; label2id?: Record<string, number>; problemType?: ProblemType }): RawConfig {
  const out = { ...raw };
  if (opts.id2label) {
    out.id2label = Object.fromEntries(Object.entries(opts.id2label).map(([i, n]) => [String(i), n]));
    out.label2id = opts.label2id ?? Object.fromEntries(Object.entries(opts.id2label).map(([i, n]) => [n, Number(i)]));
  }
  if (opts.numLabels !== undefined) {
    if (!Number.isInteger(opts.numLabels) || opts.numLabels < 1) throw new RangeError(`numLabels must be a positive integer, got ${opts.numLabels}`);
    const current = out.id2label && typeof out.id2label === "object" ? Object.keys(out.id2label).length : 2;
    if (opts.id2label && current !== opts.numLabels) throw new RangeError(`numLabels ${opts.numLabels} disagrees with the ${current} labels of id2label`);
    if (!out.id2label || current !== opts.numLabels) {
      const labels = defaultLabels(opts.numLabels);
      out.id2label = Object.fromEntries(Object.entries(labels).map(([i, n]) => [String(i), n]));
      out.label2id = Object.fromEntries(Object.entries(labels).map(([i, n]) => [n, Number(i)]));
    }
  }
  if (opts.problemType) out.problem_type = opts.problemType;
  return out;
}

/** Checks that model_type, when present, names the family being built. */
export function checkModelType(raw: RawConfig, file: string, expected: string): void {
  const t = raw.model_type;
  if (t !== undefined && t !== expected)
    throw configError(file, "model_type", `is "${String(t)}" but a ${expected} model was requested; load it with the Auto classes or the ${String(t)} model class`);
}

export function checkDivisible(file: string, sizeKey: string, size: number, headsKey: string, heads: number): void {
  if (size % heads !== 0) throw configError(file, sizeKey, `(${size}) must be divisible by ${headsKey} (${heads})`);
}

/** The activations transformers' ACT2FN names that these encoders accept. */
export const ACTIVATIONS = {
  gelu: (x: Tensor) => gelu(x),
  gelu_new: (x: Tensor) => gelu(x, "tanh"),
  gelu_pytorch_tanh: (x: Tensor) => gelu(x, "tanh"),
  relu,
  silu,
  swish: silu,
  tanh,
} as const;

export type ActivationName = keyof typeof ACTIVATIONS;
export const ACTIVATION_NAMES = Object.keys(ACTIVATIONS) as ActivationName[];

// A model family in llama.cpp's GGUF files, both ways: the family says how its checkpoints are named and laid out in
// llama.cpp (./<family>/gguf.ts, registered in its family.ts); this file reads a GGUF checkpoint into a config.json
// and Hugging Face tensors, and writes a model as llama.cpp's convert_hf_to_gguf.py would.
import { FileFormatError } from "../io/errors.js";
import { GGML_TYPE, quantize, type WritableGgmlType } from "../io/ggml-types.js";
import { GgufMetadata, readGgufHeader, readGgufTensors, str, u32, type GgufEntry, type GgufTensorOut } from "../io/gguf.js";
import type { RawTensor } from "../io/raw-tensor.js";
import type { RawConfig } from "./config.js";
import type { ModelFamily } from "./family.js";
import type { BaseConfig, PreTrainedModel } from "./pretrained.js";
import { families, familyOfModel } from "./registry.js";
import { hfStateDict } from "./weights.js";

/** A tensor in PyTorch order. */
export interface FloatTensor {
  values: Float32Array;
  shape: number[];
}

/** How a family is stored by llama.cpp. */
export interface FamilyGguf {
  /** llama.cpp architecture names (general.architecture) this family reads, each with the model_type it loads as. */
  architectures: Readonly<Record<string, string>>;
  /** The llama.cpp architecture a model is written as; throws when llama.cpp cannot run the model as configured. */
  architecture(config: BaseConfig): string;
  /** Hugging Face key and GGUF name of every tensor, `{i}` standing for the block index. */
  names: readonly (readonly [hf: string, gguf: string])[];
  /** The `<arch>.*` hyperparameters, keys without the prefix, in the converter's order. */
  hparams(config: BaseConfig): [string, GgufEntry][];
  /** config.json of a GGUF file, from its `<arch>.*` metadata (read through `arch`) and which tensors it has. */
  rawConfig(arch: ArchMetadata, tensorNames: ReadonlySet<string>): RawConfig;
  /** A tensor's values rearranged as llama.cpp stores them (`hf`: its Hugging Face key); default unchanged. */
  toGguf?(hf: string, t: FloatTensor, config: BaseConfig): FloatTensor;
  /** The inverse of toGguf. */
  fromGguf?(hf: string, t: FloatTensor, config: BaseConfig): FloatTensor;
  /** Tensors llama.cpp files carry that the Hugging Face model does not load (GPT-2's copy of the embeddings). */
  ignoredOnLoad?: readonly string[];
  /** Extra GGUF tensors the converter writes, from the ones already mapped (by GGUF name) and the config. */
  extraTensors?(tensors: ReadonlyMap<string, FloatTensor>, config: BaseConfig): [string, FloatTensor][];
}

/** `<arch>.<key>` reads of one file's metadata. */
export interface ArchMetadata {
  readonly arch: string;
  number(key: string, opts?: { integer?: boolean; required?: boolean }): number | undefined;
  string(key: string): string | undefined;
  /** The whole file's metadata, for keys outside the architecture's namespace. */
  readonly meta: GgufMetadata;
}

/** The --dtype of `finetune export`: llama.cpp's --outtype names. */
export const GGUF_DTYPES = { f32: GGML_TYPE.F32, f16: GGML_TYPE.F16, q8_0: GGML_TYPE.Q8_0 } as const;
export type GgufDtype = keyof typeof GGUF_DTYPES;
// llama.cpp's LlamaFileType (general.file_type) for each.
const FILE_TYPES: Record<GgufDtype, number> = { f32: 0, f16: 1, q8_0: 7 };
// ggml's GGML_QNT_VERSION.
const QUANTIZATION_VERSION = 2;

export interface GgufModel {
  raw: RawConfig;
  family: ModelFamily;
  meta: GgufMetadata;
}

function ggufFamily(arch: string): ModelFamily | undefined {
  return families().find((f) => f.gguf && Object.hasOwn(f.gguf.architectures, arch));
}

/** config.json of a GGUF checkpoint (its file names the source in errors). */
export function readGgufModel(file: string): GgufModel {
  const meta = new GgufMetadata(readGgufHeader(file), file);
  const arch = meta.string("general.architecture");
  if (arch === undefined) throw meta.error("general.architecture", "is missing");
  const family = ggufFamily(arch);
  if (!family) {
    const known = families().flatMap((f) => Object.keys(f.gguf?.architectures ?? {}));
    throw meta.error("general.architecture", `is "${arch}", which is not supported (supported: ${known.join(", ")})`);
  }
  const reader: ArchMetadata = {
    arch,
    meta,
    number: (key, opts) => meta.number(`${arch}.${key}`, opts),
    string: (key) => meta.string(`${arch}.${key}`),
  };
  const names = new Set(meta.header.tensors.map((t) => t.name));
  const embeddings = meta.header.tensors.find((t) => t.name === "token_embd.weight");
  const tokens = meta.strings("tokenizer.ggml.tokens");
  const special = (role: string) => meta.number(`tokenizer.ggml.${role}_token_id`, { integer: true }) ?? null;
  const raw: RawConfig = {
    model_type: family.gguf!.architectures[arch],
    architectures: family.classes.causalLm ? [family.classes.causalLm.name] : undefined,
    vocab_size: reader.number("vocab_size", { integer: true }) ?? tokens?.length ?? embeddings?.shape[0],
    bos_token_id: special("bos"),
    eos_token_id: special("eos"),
    pad_token_id: special("padding"),
    ...family.gguf!.rawConfig(reader, names),
  };
  return { raw, family, meta };
}

/** Hugging Face tensors (float32) of a GGUF checkpoint, with llama.cpp's rearrangements undone. */
export function loadGgufTensors(model: GgufModel, config: BaseConfig, blocks: number): Map<string, RawTensor> {
  const gguf = model.family.gguf!;
  const byGguf = new Map(expandNames(gguf.names, blocks).map(([hf, g]) => [g, hf]));
  const out = new Map<string, RawTensor>();
  readGgufTensors(model.meta.file, model.meta.header, (info, values) => {
    if (gguf.ignoredOnLoad?.includes(info.name)) return;
    const hf = byGguf.get(info.name);
    if (!hf) throw new FileFormatError(model.meta.file, `tensor "${info.name}" has no place in a ${model.family.name} model`);
    const t = gguf.fromGguf ? gguf.fromGguf(hf, { values, shape: info.shape }, config) : { values, shape: info.shape };
    out.set(hf, { dtype: "F32", shape: t.shape, data: t.values });
  });
  return out;
}

function expandNames(names: FamilyGguf["names"], blocks: number): [string, string][] {
  return names.flatMap(([hf, g]) =>
    hf.includes("{i}") ? Array.from({ length: blocks }, (_, i) => [hf.replace("{i}", String(i)), g.replace("{i}", String(i))] as [string, string]) : [[hf, g] as [string, string]]);
}

export interface GgufExportOptions {
  dtype: GgufDtype;
  /** general.name. */
  name: string;
  /** tokenizer.* entries (../tokenizers/gguf.ts). */
  tokenizer: [string, GgufEntry][];
}

/** The metadata and tensors of a model as llama.cpp's converter writes them. */
export function ggufExport(model: PreTrainedModel, opts: GgufExportOptions): { metadata: [string, GgufEntry][]; tensors: GgufTensorOut[] } {
  const family = familyOfModel(model);
  const gguf = family.gguf;
  if (!gguf) {
    const can = families().filter((f) => f.gguf).map((f) => f.name);
    throw new Error(`${family.name} models cannot be written as GGUF (families that can: ${can.join(", ")})`);
  }
  const config = model.config;
  const arch = gguf.architecture(config);
  const byHf = new Map(expandNames(gguf.names, model.shape().numLayers).map(([hf, g]) => [hf, g]));
  const mapped = new Map<string, FloatTensor>();
  for (const [key, raw] of hfStateDict(model)) {
    const name = byHf.get(key);
    if (!name) throw new Error(`${model.constructor.name} parameter ${key} has no GGUF name for llama.cpp's ${arch} architecture`);
    const t = { values: raw.data as Float32Array, shape: raw.shape };
    mapped.set(name, gguf.toGguf ? gguf.toGguf(key, t, config) : t);
  }
  for (const [name, t] of gguf.extraTensors?.(mapped, config) ?? []) mapped.set(name, t);
  const tensors = [...mapped].map(([name, t]) => storedTensor(name, t, GGUF_DTYPES[opts.dtype]));
  const metadata: [string, GgufEntry][] = [
    ["general.architecture", str(arch)],
    ["general.type", str("model")],
    ["general.name", str(opts.name)],
    ...gguf.hparams(config).map(([k, v]): [string, GgufEntry] => [`${arch}.${k}`, v]),
    ["general.file_type", u32(FILE_TYPES[opts.dtype])],
    ["general.quantization_version", u32(QUANTIZATION_VERSION)],
    ...opts.tokenizer,
  ];
  return { metadata, tensors };
}

/** The converter's type choice: 1-D tensors, norms, biases and position embeddings stay F32; Q8_0 falls back to F16
 *  for rows that do not fill whole blocks of 32. */
function storedTensor(name: string, t: FloatTensor, wanted: WritableGgmlType): GgufTensorOut {
  const f32Only = t.shape.length <= 1 || name.endsWith("_norm.weight") || !name.endsWith(".weight") || name.startsWith("position_embd.");
  let type: WritableGgmlType = f32Only ? GGML_TYPE.F32 : wanted;
  if (type === GGML_TYPE.Q8_0 && t.shape.at(-1)! % 32 !== 0) type = GGML_TYPE.F16;
  return { name, shape: t.shape, type, data: quantize(type, t.values) };
}

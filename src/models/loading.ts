// from_pretrained / save_pretrained: config.json plus weights from a local folder or the Hugging Face
// Hub (through the shared cache), and back to a folder transformers can load.
import { mkdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { writeJsonAtomic } from "../io/atomic.js";
import { loadModelWeights, parseByteSize, saveModelWeights, type SaveModelWeightsOptions } from "../io/model-weights.js";
import { FileFormatError } from "../io/errors.js";
import { isGgufFile } from "../io/gguf.js";
import { resolveModelFile, resolveWeights, type HubOptions } from "../io/hub.js";
import { fromFloat32, type RawTensor } from "../io/raw-tensor.js";
import { applyLabelOverrides, type ProblemType, type RawConfig } from "./config.js";
import { skipInit, type BaseConfig, type PreTrainedModel, type PretrainedClass } from "./pretrained.js";
import { checkModelSize } from "./size.js";
import { withoutRandomInit } from "../nn/random-init.js";
import { hfStateDict, loadHfWeights, type WeightLoadReport } from "./weights.js";

export interface FromPretrainedOptions extends HubOptions {
  /** A head with this many outputs; labels become LABEL_i unless the stored count already matches. */
  numLabels?: number;
  id2label?: Record<number, string>;
  label2id?: Record<string, number>;
  problemType?: ProblemType;
  /** Parameter precision. float64 is for numerical checks; training and the native kernels use float32.
   *  bfloat16 stores the weight matrices of the base model (every linear layer and embedding the checkpoint
   *  holds, not a classifier head) in bf16, frozen: half the memory, and their products run on the bf16 GEMM.
   *  Norms, biases and heads stay float32, and a weight made trainable later is widened back to float32. */
  dtype?: "float32" | "float64" | "bfloat16";
  /** Re-initialise tensors whose checkpoint shape differs instead of failing. */
  ignoreMismatchedSizes?: boolean;
  /** Receives the "newly initialized" / "not used" messages; default the library's warning handler (setWarningHandler). */
  onWarning?: (message: string) => void;
  /** Receives which weights the checkpoint lacked, had in excess or had in another shape (after the warnings). */
  onLoadReport?: (report: WeightLoadReport) => void;
}

export interface LoadedConfig {
  raw: RawConfig;
  /** Local path of config.json, for messages. */
  file: string;
}

/** Reads config.json of a local folder or hub repo, with the label overrides of `opts` applied. A GGUF file (llama.cpp)
 *  stands for a whole model folder: its config comes from the file's metadata. */
export async function readConfigJson(pathOrId: string, opts: FromPretrainedOptions = {}): Promise<LoadedConfig> {
  if (await isGguf(pathOrId)) return { raw: applyLabelOverrides((await ggufModule()).readGgufModel(pathOrId).raw, opts), file: pathOrId };
  // A path that is not a folder would otherwise be reported as an invalid hub repo id.
  if (/^(\/|\.{1,2}[\\/]|~|[A-Za-z]:[\\/])/.test(pathOrId) && !(await stat(pathOrId).then((s) => s.isDirectory(), () => false)))
    throw new Error(`${pathOrId}: no such model folder`);
  const file = await resolveModelFile(pathOrId, "config.json", opts);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    throw new FileFormatError(file, `invalid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new FileFormatError(file, "config.json must hold a JSON object");
  return { raw: applyLabelOverrides(raw as RawConfig, opts), file };
}

export async function loadPretrained<M extends PreTrainedModel, C extends BaseConfig>(
  cls: PretrainedClass<M, C>, pathOrId: string, opts: FromPretrainedOptions = {},
): Promise<M> {
  return buildPretrained(cls, pathOrId, await readConfigJson(pathOrId, opts), opts);
}

/** The second half of loading, once config.json is read (the Auto classes read it to pick the class). */
export async function buildPretrained<M extends PreTrainedModel, C extends BaseConfig>(
  cls: PretrainedClass<M, C>, pathOrId: string, cfg: LoadedConfig, opts: FromPretrainedOptions = {},
): Promise<M> {
  const config = cls.parseConfig(cfg.raw, cfg.file);
  // Each size passes its own bound, but their products may still be absurd: refuse before allocating.
  checkModelSize(cls.modelShape(config), cfg.file);
  // The checkpoint fills the weights: no init pass, and no random draws whose pages would stay resident.
  const model = skipInit(() => withoutRandomInit(() => new cls(config)));
  const gguf = (await isGguf(pathOrId)) ? await ggufModule() : undefined;
  const tensors = gguf
    ? gguf.loadGgufTensors(gguf.readGgufModel(pathOrId), config, cls.modelShape(config).numLayers)
    : (await loadModelWeights((await resolveWeights(pathOrId, opts)).folder, { lazy: true })).tensors;
  const report = loadHfWeights(model, tensors, { source: pathOrId, ignoreMismatchedSizes: opts.ignoreMismatchedSizes, onWarning: opts.onWarning,
    bfloat16: opts.dtype === "bfloat16" });
  opts.onLoadReport?.(report);
  if (opts.dtype === "float64") model.mapParameters(() => true, (p) => p.to("float64"));
  // As transformers: a loaded model starts in eval mode (dropout off) until train() is called.
  return model.eval();
}

// Imported when first needed: ./gguf.ts reads the family registry, whose model classes import this module.
const ggufModule = () => import("./gguf.js");

/** A GGUF file given as the model: a file (not a folder or hub id) that starts with the GGUF magic. */
export async function isGguf(pathOrId: string): Promise<boolean> {
  return (await stat(pathOrId).then((s) => s.isFile(), () => false)) && isGgufFile(pathOrId);
}

export interface SavePretrainedOptions extends Pick<SaveModelWeightsOptions, "maxShardSize"> {
  /** The precision written (config.json's torch_dtype): float16 or bfloat16 halve the files; from_pretrained (ours
   *  and transformers') reads them back into its own precision. Default float32. */
  dtype?: "float32" | "float16" | "bfloat16";
}

const SAFE_DTYPE = { float32: "F32", float16: "F16", bfloat16: "BF16" } as const;

export async function savePretrained(model: PreTrainedModel, dir: string, opts: SavePretrainedOptions = {}): Promise<void> {
  const dtype = opts.dtype ?? "float32";
  if (!Object.hasOwn(SAFE_DTYPE, dtype)) throw new RangeError(`savePretrained: dtype must be float32, float16 or bfloat16, got ${String(dtype)}`);
  // Checked before anything is written, so a bad size leaves the folder as it was.
  const maxShardSize = opts.maxShardSize === undefined ? undefined : parseByteSize(opts.maxShardSize, "maxShardSize");
  await mkdir(dir, { recursive: true });
  const config: RawConfig = { ...model.configDict(), architectures: [model.architectureName()], torch_dtype: dtype };
  const sorted = Object.fromEntries(Object.keys(config).sort().map((k) => [k, config[k]]));
  await writeJsonAtomic(join(dir, "config.json"), sorted);
  let tensors = hfStateDict(model);
  if (dtype !== "float32") {
    tensors = new Map([...tensors].map(([name, t]): [string, RawTensor] => [name, fromFloat32(t.data as Float32Array, t.shape, SAFE_DTYPE[dtype])]));
  }
  await saveModelWeights(dir, tensors, { maxShardSize });
}

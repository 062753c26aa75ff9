// Checkpoint tensors in and out of a model under Hugging Face's key conventions: old LayerNorm
// gamma/beta names, checkpoints with or without the base-model prefix, heads missing from a base
// checkpoint (initialised as _init_weights does), and tied weights written once.
import { toFloat32, type RawTensor } from "../io/raw-tensor.js";
import { storeFrozenWeightsInBf16, type Module } from "../nn/index.js";
import { Bf16Tensor, type Tensor } from "../tensor/index.js";
import { warn } from "../warnings/index.js";
import type { PreTrainedModel } from "./pretrained.js";

export interface MismatchedKey {
  key: string;
  checkpointShape: number[];
  modelShape: number[];
}

export interface WeightLoadReport {
  /** Model keys the checkpoint lacked; they were freshly initialised. */
  missingKeys: string[];
  /** Checkpoint keys the model has no place for. */
  unexpectedKeys: string[];
  /** Keys whose shapes differ (only with ignoreMismatchedSizes); freshly initialised. */
  mismatchedKeys: MismatchedKey[];
}

export interface LoadWeightsOptions {
  /** Where the weights came from, for messages. */
  source: string;
  /** Re-initialise tensors whose shape differs (e.g. a new number of labels) instead of failing. */
  ignoreMismatchedSizes?: boolean;
  onWarning?: (message: string) => void;
  /** Store the base model's weight matrices in bf16 (FromPretrainedOptions.dtype "bfloat16"). */
  bfloat16?: boolean;
}

/** transformers' _fix_state_dict_key_on_load: TF-era LayerNorm parameter names. */
function modernKey(key: string): string {
  if (key.endsWith(".gamma")) return `${key.slice(0, -6)}.weight`;
  if (key.endsWith(".beta")) return `${key.slice(0, -5)}.bias`;
  return key;
}

/** Renames checkpoint keys to the model's: a base checkpoint loaded into a model with a head gets the
 *  prefix; a checkpoint with a head loaded into the base model loses it (its head keys stay unexpected). */
export function alignCheckpointKeys(keys: Iterable<string>, modelKeys: Iterable<string>, prefix: string): Map<string, string> {
  const renamed = new Map<string, string>();
  for (const k of keys) renamed.set(k, modernKey(k));
  const dotted = `${prefix}.`;
  const has = [...renamed.values()].some((k) => k.startsWith(dotted));
  const expects = [...modelKeys].some((k) => k.startsWith(dotted));
  for (const [orig, k] of renamed) {
    if (expects && !has) renamed.set(orig, dotted + k);
    else if (has && !expects && k.startsWith(dotted)) renamed.set(orig, k.slice(dotted.length));
  }
  return renamed;
}

/** Copies the checkpoint's tensors into the model. Consumes `checkpoint`: each tensor leaves the map once it is
 *  copied, so its memory can be reclaimed while the rest load. */
export function loadHfWeights(model: PreTrainedModel, checkpoint: Map<string, RawTensor>, opts: LoadWeightsOptions): WeightLoadReport {
  let own = model.stateDict();
  const ignored = model.ignoredCheckpointKeys();
  const tied = new Set(model.tiedKeys());
  const names = alignCheckpointKeys(checkpoint.keys(), own.keys(), model.baseModelPrefix);
  const byModelKey = new Map<string, RawTensor>();
  const origOf = new Map<string, string>();
  const unexpectedKeys: string[] = [];
  for (const [orig, key] of names) {
    if (ignored.some((re) => re.test(key))) continue;
    if (own.has(key)) {
      byModelKey.set(key, checkpoint.get(orig)!);
      origOf.set(key, orig);
    } else unexpectedKeys.push(orig);
  }
  if (opts.bfloat16) {
    // Every weight matrix outside the classifier head that the checkpoint fills, as empty bf16 tensors that the
    // loop below fills straight from the checkpoint. Weights it lacks stay float32: they are initialised, or
    // trained, in float32.
    const loaded = new Set([...byModelKey].filter(([k, raw]) => raw.shape.join() === own.get(k)!.shape.join()).map(([k]) => k));
    const heads = model.classifierModules();
    storeFrozenWeightsInBf16(model, (path) => loaded.has(`${path}.weight`) && !heads.some((h) => path === h || path.startsWith(`${h}.`)), false);
    own = model.stateDict();
  }
  const missingKeys: string[] = [];
  const mismatchedKeys: MismatchedKey[] = [];
  for (const [key, t] of own) {
    const raw = byModelKey.get(key);
    if (!raw) {
      if (!tied.has(key)) missingKeys.push(key);
      continue;
    }
    if (raw.shape.join() !== t.shape.join()) {
      if (!opts.ignoreMismatchedSizes) {
        throw new Error(`${opts.source}: ${key} has shape [${raw.shape}] in the checkpoint but [${t.shape}] in ${model.constructor.name}. ` +
          "Pass ignoreMismatchedSizes: true to re-initialise it (e.g. a classifier with a different number of labels).");
      }
      mismatchedKeys.push({ key, checkpointShape: raw.shape, modelShape: t.shape });
      continue;
    }
    if (t instanceof Bf16Tensor) t.assign(raw.dtype === "BF16" ? raw.data as Uint16Array : toFloat32(raw)); // bf16 bits as they are
    else {
      // Half precision is widened straight into the parameter; float32 comes back as the file's own array.
      const values = toFloat32(raw, t.data instanceof Float32Array ? t.data : undefined);
      if (values !== t.data) t.data.set(values);
    }
    // Copied: the file's tensor may go now, so the whole file and the whole model are never held at once.
    byModelKey.delete(key);
    checkpoint.delete(origOf.get(key)!);
  }
  initialise(model, [...missingKeys, ...mismatchedKeys.map((m) => m.key)]);
  reportLoad(model, opts, { missingKeys, unexpectedKeys, mismatchedKeys });
  return { missingKeys, unexpectedKeys, mismatchedKeys };
}

function initialise(model: PreTrainedModel, keys: string[]): void {
  const byModule = new Map<string, Set<string>>();
  for (const key of keys) {
    const cut = key.lastIndexOf(".");
    const path = cut < 0 ? "" : key.slice(0, cut);
    if (!byModule.has(path)) byModule.set(path, new Set());
    byModule.get(path)!.add(key.slice(cut + 1));
  }
  for (const [path, names] of byModule) model.initMissingWeights(model.getSubmodule(path) as Module, names);
}

function reportLoad(model: PreTrainedModel, opts: LoadWeightsOptions, r: WeightLoadReport): void {
  const emit = opts.onWarning ?? ((m: string) => warn(m, "FINETUNE_WEIGHTS"));
  const cls = model.constructor.name, at = opts.source;
  const list = (keys: string[]) => `[${keys.map((k) => `'${k}'`).join(", ")}]`;
  if (r.unexpectedKeys.length) {
    emit(`Some weights of the model checkpoint at ${at} were not used when initializing ${cls}: ${list(r.unexpectedKeys)}\n` +
      `- This IS expected if you are initializing ${cls} from the checkpoint of a model trained on another task or with another architecture.\n` +
      `- This IS NOT expected if you are initializing ${cls} from the checkpoint of a model that you expect to be exactly identical.`);
  }
  if (r.missingKeys.length) {
    emit(`Some weights of ${cls} were not initialized from the model checkpoint at ${at} and are newly initialized: ${list(r.missingKeys)}\n` +
      "You should probably TRAIN this model on a down-stream task to be able to use it for predictions and inference.");
  }
  if (r.mismatchedKeys.length) {
    const lines = r.mismatchedKeys.map((m) => `- ${m.key}: found shape [${m.checkpointShape}] in the checkpoint and [${m.modelShape}] in the model instantiated`);
    emit(`Some weights of ${cls} were not initialized from the model checkpoint at ${at} and are newly initialized because the shapes did not match:\n` +
      `${lines.join("\n")}\nYou should probably TRAIN this model on a down-stream task to be able to use it for predictions and inference.`);
  }
}

/** The tensors savePretrained writes: HF key names, float32, each tied tensor once. */
export function hfStateDict(model: PreTrainedModel): Map<string, RawTensor> {
  const tied = new Set(model.tiedKeys());
  const seen = new Set<Tensor>();
  const out = new Map<string, RawTensor>();
  for (const [key, t] of model.stateDict()) {
    if (tied.has(key) || seen.has(t)) continue;
    seen.add(t);
    out.set(key, { dtype: "F32", shape: [...t.shape], data: t.toFloat32Array() });
  }
  return out;
}

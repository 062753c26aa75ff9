// Adapters on disk in PEFT's layout: adapter_config.json + adapter_model.safetensors, readable by
// Python's PeftModel.from_pretrained, and the reverse.
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeJsonAtomic } from "../io/atomic.js";
import { resolveModelFile } from "../io/hub.js";
import type { HubOptions } from "../io/hub.js";
import { toFloat32 } from "../io/raw-tensor.js";
import { loadSafetensors, saveSafetensors } from "../io/safetensors.js";
import type { PreTrainedModel } from "../models/pretrained.js";
import { Tensor } from "../tensor/index.js";
import { PeftConfig, peftConfigFromJson } from "./config.js";
import { PeftModel } from "./peft-model.js";
import type { TunerOptions } from "./tuner.js";

export const ADAPTER_CONFIG = "adapter_config.json";
export const ADAPTER_WEIGHTS = "adapter_model.safetensors";

/** Writes adapter `name` (all adapters when omitted; non-default ones in sub-folders, as PEFT does). */
export async function savePeftAdapter(model: PeftModel, dir: string, adapterNames?: string[]): Promise<void> {
  for (const name of adapterNames ?? [...model.peftConfig.keys()]) {
    const target = name === "default" ? dir : join(dir, name);
    await mkdir(target, { recursive: true });
    const config = model.peftConfig.get(name)!;
    const json = { ...config.toJSON(), inference_mode: true };
    const tensors = Object.fromEntries([...model.adapterStateDict(name)].map(([k, t]) =>
      [k, { dtype: "F32" as const, shape: [...t.shape], data: t.toFloat32Array() }]));
    await saveSafetensors(join(target, ADAPTER_WEIGHTS), tensors, { format: "pt" });
    await writeJsonAtomic(join(target, ADAPTER_CONFIG), json);
  }
}

export interface LoadAdapterOptions extends HubOptions {
  adapterName?: string;
  /** Keep the adapter trainable (PEFT's is_trainable); by default it loads for inference. */
  isTrainable?: boolean;
  /** A sub-folder of the repo or directory that holds the adapter. */
  subfolder?: string;
  tunerOptions?: TunerOptions;
}

async function resolveRequired(pathOrId: string, file: string, opts: LoadAdapterOptions): Promise<string> {
  const path = await resolveModelFile(pathOrId, opts.subfolder ? `${opts.subfolder}/${file}` : file, { ...opts, required: true });
  if (!path) throw new Error(`${pathOrId}: no ${file} found`);
  return path;
}

export async function readAdapterConfig(pathOrId: string, opts: LoadAdapterOptions = {}): Promise<PeftConfig> {
  return (await readAdapterConfigFile(pathOrId, opts)).config;
}

async function readAdapterConfigFile(pathOrId: string, opts: LoadAdapterOptions): Promise<{ config: PeftConfig; file: string }> {
  const file = await resolveRequired(pathOrId, ADAPTER_CONFIG, opts);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return { config: peftConfigFromJson(json, file), file };
}

async function readAdapterWeights(pathOrId: string, opts: LoadAdapterOptions): Promise<{ file: string; tensors: Map<string, Tensor> }> {
  const file = await resolveRequired(pathOrId, ADAPTER_WEIGHTS, opts);
  const { tensors } = await loadSafetensors(file);
  return { file, tensors: new Map([...tensors].map(([k, raw]) => [k, new Tensor(toFloat32(raw), raw.shape)])) };
}

/** Runs `fn`, prefixing an error that does not already name it with `file` (the adapter config being applied). */
function naming<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const message = (e as Error)?.message ?? String(e);
    if (message.includes(file)) throw e;
    throw new Error(`${file}: ${message}`, { cause: e });
  }
}

/** PeftModel.from_pretrained: wraps `base` with the adapter at `pathOrId` (a directory or hub id). */
export async function loadPeftModel(base: PreTrainedModel, pathOrId: string, opts: LoadAdapterOptions = {}): Promise<PeftModel> {
  const { config, file: configFile } = await readAdapterConfigFile(pathOrId, opts);
  config.inferenceMode = !opts.isTrainable;
  const name = opts.adapterName ?? "default";
  // Target modules the model lacks, a prefix for another number of layers, ...: the config file is at fault.
  const model = naming(configFile, () => new PeftModel(base, config, name, opts.tunerOptions));
  const { file, tensors } = await readAdapterWeights(pathOrId, opts);
  model.loadAdapterStateDict(tensors, name, file);
  if (!opts.isTrainable) model.requiresGrad(false);
  return model;
}

/** PeftModel.load_adapter: adds another saved adapter under `adapterName`. */
export async function loadAdapter(model: PeftModel, pathOrId: string, adapterName: string, opts: LoadAdapterOptions = {}): Promise<void> {
  const { config, file: configFile } = await readAdapterConfigFile(pathOrId, opts);
  config.inferenceMode = !opts.isTrainable;
  naming(configFile, () => model.addAdapter(adapterName, config, opts.tunerOptions));
  const { file, tensors } = await readAdapterWeights(pathOrId, opts);
  model.loadAdapterStateDict(tensors, adapterName, file);
}

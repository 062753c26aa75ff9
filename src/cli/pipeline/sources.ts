// Where models and tokenizers come from: a local folder or a Hugging Face Hub id, and which head to load.
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import type { HubOptions } from "../../io/hub.js";
import { bundledModelPath, isBundledModel } from "../../bundled/index.js";
import type { RawConfig } from "../../models/config.js";
import { AutoModel, AutoModelForCausalLM, AutoModelForSequenceClassification, familyForConfig, type ModelFamily, type PreTrainedModel } from "../../models/index.js";
import { isGguf, readConfigJson } from "../../models/loading.js";
import type { WeightLoadReport } from "../../models/weights.js";
import type { Module } from "../../nn/index.js";
import { Bf16Tensor } from "../../tensor/index.js";
import { TOKENIZER_FILES, tokenizerFolder } from "../../tokenizers/folder.js";
import { AutoTokenizer, type PreTrainedTokenizer } from "../../tokenizers/index.js";
import { UsageError } from "../command.js";
import type { Task } from "../methods.js";

export interface ModelSource {
  /** An absolute folder path, or a hub id. */
  ref: string;
  hub: HubOptions;
  /** Receives loading notes (newly initialised heads, unused weights). */
  onWarning?: (message: string) => void;
  /** Receives which weights the checkpoint lacked (and had in excess). */
  onLoadReport?: (report: WeightLoadReport) => void;
  /** --base-dtype: bf16 stores the base model's weight matrices in bfloat16, frozen. */
  baseDtype?: "fp32" | "bf16";
}

function dtypeOf(source: ModelSource): "bfloat16" | undefined {
  return source.baseDtype === "bf16" ? "bfloat16" : undefined;
}

export async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}

export async function isFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

/** A folder (or a llama.cpp GGUF file) that exists becomes an absolute path, so "runs/out" is never taken for the hub repo runs/out.
 *  "bundled" and "bundled-lm" name the small DistilBERT and Llama that ship in assets/ (pretrained by finetune-ts itself). */
export async function modelRef(arg: string): Promise<string> {
  if (isBundledModel(arg)) return bundledModelPath(arg);
  if ((await isDirectory(arg)) || (await isGguf(arg))) return resolve(arg);
  if (/^(\/|\.{1,2}[\\/]|~)/.test(arg) || /[\\/].*[\\/]/.test(arg)) throw new UsageError(`${arg}: no such model folder`);
  return arg;
}

/** The tokenizer of the first of `refs` that has one. With `modelRef`, it is checked against that model's vocabulary
 *  at once: an id past the embedding would otherwise fail at the first forward pass, naming neither file. */
export async function loadTokenizer(refs: string[], hub: HubOptions, modelRef?: string): Promise<{ tokenizer: PreTrainedTokenizer; dir: string }> {
  for (const ref of refs) {
    const dir = await tokenizerFolder(ref, hub);
    if (!dir) continue;
    const tokenizer = await AutoTokenizer.fromPretrained(dir);
    if (modelRef !== undefined) await checkVocabularyFits(tokenizer, dir, modelRef, hub);
    return { tokenizer, dir };
  }
  throw new UsageError(`no tokenizer files (${TOKENIZER_FILES.join(", ")}) in ${refs.join(" or ")}; pass --tokenizer DIR`);
}

async function checkVocabularyFits(tokenizer: PreTrainedTokenizer, dir: string, modelRef: string, hub: HubOptions): Promise<void> {
  const { raw, file } = await readConfigJson(modelRef, hub);
  const text = (raw as { text_config?: RawConfig }).text_config;
  const vocabSize = raw.vocab_size ?? text?.vocab_size;
  if (typeof vocabSize !== "number") return;
  let maxId = -1, maxToken = "";
  for (const [token, id] of Object.entries(tokenizer.getVocab())) if (id > maxId) [maxId, maxToken] = [id, token];
  if (maxId >= vocabSize) {
    throw new UsageError(`the tokenizer in ${dir} has token ids up to ${maxId} (${JSON.stringify(maxToken.slice(0, 40))}) but the model's ` +
      `${file} has vocab_size ${vocabSize}: they do not belong together (pass the model's own tokenizer with --tokenizer)`);
  }
}

/** The task a model folder or hub id trains for unless --task says otherwise. */
export async function detectTask(source: ModelSource): Promise<Task> {
  const { raw, file } = await readConfigJson(source.ref, source.hub);
  return defaultTask(raw, familyForConfig(raw, file));
}

/** The task of the architecture config.json names (transformers' class-name suffixes); without one, a decoder
 *  family's is causal-lm and an encoder's seq-cls. */
export function defaultTask(raw: RawConfig, family: ModelFamily): Task {
  const arch = Array.isArray(raw.architectures) ? raw.architectures.map(String) : [];
  if (arch.some((a) => /CausalLM$|LMHeadModel$/.test(a))) return "causal-lm";
  if (arch.some((a) => /SequenceClassification$/.test(a))) return "seq-cls";
  return family.kind === "decoder" ? "causal-lm" : "seq-cls";
}

export interface LabelSpec {
  names: string[];
  /** Write the names into config.json (id2label); false keeps the checkpoint's own names when the count matches. */
  named: boolean;
}

/** The model with its task's head; a classifier head is resized to the labels (re-initialised when it changes).
 *  `padTokenId` is what batches are padded with: decoder classifiers (GPT-2, Llama) need it in their config to
 *  find each sequence's last real token, and usually ship without one (transformers users set it the same way). */
export async function loadModel(task: Task, source: ModelSource, labels?: LabelSpec, padTokenId?: number): Promise<PreTrainedModel> {
  let report: WeightLoadReport | undefined;
  const opts = { ...source.hub, onWarning: source.onWarning, dtype: dtypeOf(source), onLoadReport: (r: WeightLoadReport) => { report = r; source.onLoadReport?.(r); } };
  const id2label = labels?.named ? Object.fromEntries(labels.names.map((n, i) => [i, n])) : undefined;
  const model = task === "causal-lm" ? await AutoModelForCausalLM.fromPretrained(source.ref, opts)
    : labels
      ? await AutoModelForSequenceClassification.fromPretrained(source.ref, { ...opts, numLabels: labels.names.length, id2label, ignoreMismatchedSizes: true })
      : await AutoModelForSequenceClassification.fromPretrained(source.ref, opts);
  checkLoadedWeights(model, source.ref, report!);
  const config = model.config as { padTokenId?: number | null };
  if (config.padTokenId === null && padTokenId !== undefined) config.padTokenId = padTokenId;
  return model;
}

/** The bare encoder/decoder, for feature extraction. Its checkpoint usually has a head this drops, which
 *  is the point here, so that note is not passed on. */
export async function loadBaseModel(source: ModelSource): Promise<PreTrainedModel> {
  let report: WeightLoadReport | undefined;
  const onWarning = (m: string) => { if (!/were not used when initializing/.test(m)) source.onWarning?.(m); };
  const model = await AutoModel.fromPretrained(source.ref, { ...source.hub, onWarning, dtype: dtypeOf(source), onLoadReport: (r) => { report = r; } });
  checkLoadedWeights(model, source.ref, report!);
  return model;
}

/** transformers loads a checkpoint whose tensor names match none of the model's as a randomly initialised model, with
 *  a warning; fine-tuning or scoring that would be silently wrong, so the CLI refuses it. A new head is expected. */
function checkLoadedWeights(model: PreTrainedModel, ref: string, report: WeightLoadReport): void {
  const fresh = new Set([...report.missingKeys, ...report.mismatchedKeys.map((m) => m.key)]);
  const keys = [...model.stateDict().keys()], prefix = `${model.baseModelPrefix}.`;
  const body = keys.some((k) => k.startsWith(prefix)) ? keys.filter((k) => k.startsWith(prefix)) : keys;
  if (body.every((k) => fresh.has(k))) {
    const found = report.unexpectedKeys.slice(0, 2).map((k) => `'${k}'`).join(", ") || "none";
    throw new Error(`${ref}: its checkpoint has none of ${model.constructor.name}'s weights (it expects names such as '${body[0]}', ` +
      `the checkpoint has ${found}), so training would start from random weights; is it a model of another architecture?`);
  }
  assertFiniteWeights(model, ref);
}

/** NaN or infinite weights (a corrupt or diverged checkpoint) would make every prediction the same. */
export function assertFiniteWeights(model: Module, ref: string): void {
  for (const [name, p] of model.namedParameters()) {
    // A bf16 weight is checked in its packed bits (exponent all ones: inf or NaN) rather than widened to a copy.
    if (p instanceof Bf16Tensor) {
      if (p.packed.data.some((bits) => (bits & 0x7f80) === 0x7f80)) throw new Error(`${ref}: weight ${name} holds NaN or infinite values (a corrupt or diverged checkpoint)`);
      continue;
    }
    const d = p.data;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i])) throw new Error(`${ref}: weight ${name} holds ${d[i]} at index ${i} (a corrupt or diverged checkpoint)`);
    }
  }
}

/** id2label of a loaded classifier, in id order. */
export function modelLabelNames(model: PreTrainedModel): string[] {
  const id2label = (model.config as { id2label?: Record<number, string> }).id2label ?? {};
  return Object.keys(id2label).map(Number).sort((a, b) => a - b).map((i) => id2label[i]);
}

/** The positions a model can read (max_position_embeddings, n_positions). */
export function maxPositions(model: PreTrainedModel): number {
  return model.shape().maxPositions;
}

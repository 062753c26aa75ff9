// Loads what `train` wrote (or any transformers model / PEFT adapter) back for eval, predict, generate and
// merge: a model folder or hub id, an adapter folder (its base model from adapter_config.json or
// --base-model), or a feature-based output (base model + classifier file).
import { join } from "node:path";
import { resolveModelFile, type HubOptions } from "../../io/hub.js";
import { assertNotBeingWritten } from "../../io/folder-lock.js";
import { loadSafetensors } from "../../io/safetensors.js";
import type { PreTrainedModel } from "../../models/index.js";
import { LogisticRegression, MLPClassifier } from "../../methods/index.js";
import { ModulesToSaveWrapper, PeftModel, readAdapterConfig } from "../../peft/index.js";
import type { WeightLoadReport } from "../../models/weights.js";
import type { PreTrainedTokenizer } from "../../tokenizers/index.js";
import { UsageError } from "../command.js";
import type { Task } from "../methods.js";
import { featureClassifier, modelClassifier, padTokenId, type SequenceClassifier } from "./classifier.js";
import { CLASSIFIER_FILE, finishInterruptedSave, readSettings, type RunSettings } from "./output-dir.js";
import { assertFiniteWeights, detectTask, isDirectory, loadBaseModel, loadModel, loadTokenizer, maxPositions, modelLabelNames, modelRef, type LabelSpec } from "./sources.js";

export interface LoadOutputOptions {
  /** An adapter to put on the model named by the ref (instead of the ref being the adapter). */
  adapter?: string;
  /** The adapter's or feature output's base model, overriding the one recorded. */
  baseModel?: string;
  tokenizer?: string;
  maxLength?: number;
  batchSize: number;
  hub: HubOptions;
  onWarning?: (message: string) => void;
  baseDtype?: "fp32" | "bf16";
}

export interface LoadedOutput {
  kind: "model" | "adapter" | "feature";
  task: Task;
  settings: RunSettings | null;
  tokenizer: PreTrainedTokenizer;
  /** The network to run: the model, or the PeftModel around its base (null for feature-based outputs). */
  model: PreTrainedModel | PeftModel | null;
  /** seq-cls outputs: class probabilities for texts. */
  classifier: SequenceClassifier | null;
  maxLength: number;
}

export async function loadOutput(arg: string, o: LoadOutputOptions): Promise<LoadedOutput> {
  const ref = await modelRef(arg);
  for (const read of [ref, o.adapter, o.baseModel]) {
    if (read !== undefined && (await isDirectory(read))) await assertNotBeingWritten(read);
  }
  if (await isDirectory(ref)) await finishInterruptedSave(ref);
  const settings = (await isDirectory(ref)) ? await readSettings(ref) : null;
  if (settings?.method === "feature") return loadFeatureOutput(ref, settings, o);
  const adapter = o.adapter !== undefined ? await modelRef(o.adapter) : (await hasAdapter(ref, o.hub)) ? ref : null;
  if (adapter) return loadAdapterOutput(adapter, o.adapter !== undefined ? ref : null, o.adapter !== undefined ? await readSettings(adapter) : settings, o);
  const task = settings?.task ?? (await detectTask({ ref, hub: o.hub }));
  const { tokenizer } = await loadTokenizer(o.tokenizer ? [o.tokenizer] : [ref], o.hub, ref);
  const model = await loadModel(task, { ref, hub: o.hub, onWarning: o.onWarning, baseDtype: o.baseDtype }, undefined, padTokenId(tokenizer));
  return finish({ kind: "model", task, settings, tokenizer, model }, model, o);
}

async function hasAdapter(ref: string, hub: HubOptions): Promise<boolean> {
  return (await resolveModelFile(ref, "adapter_config.json", { ...hub, required: false }).catch(() => null)) !== null;
}

async function loadAdapterOutput(dir: string, givenBase: string | null, settings: RunSettings | null, o: LoadOutputOptions): Promise<LoadedOutput> {
  const config = await readAdapterConfig(dir, o.hub);
  const recorded = o.baseModel ?? givenBase ?? config.baseModelNameOrPath;
  if (!recorded) throw new UsageError(`${dir}: adapter_config.json names no base model (base_model_name_or_path); pass --base-model`);
  const baseRef = await modelRef(recorded);
  const task: Task = config.taskType === "CAUSAL_LM" ? "causal-lm" : "seq-cls";
  const labels = task === "seq-cls" ? (settings?.labelNames ? { names: settings.labelNames, named: true } : await adapterLabels(dir, o.hub)) : undefined;
  const { tokenizer } = await loadTokenizer(o.tokenizer ? [o.tokenizer] : [dir, baseRef], o.hub);
  // The base checkpoint usually lacks the classifier head that the adapter brings (modules_to_save): only weights that
  // neither has are news.
  let fresh: string[] = [];
  const quiet = (m: string) => { if (!/newly initialized/.test(m)) o.onWarning?.(m); };
  const onLoadReport = (r: WeightLoadReport) => { fresh = [...r.missingKeys, ...r.mismatchedKeys.map((m) => m.key)]; };
  const base = await loadModel(task, { ref: baseRef, hub: o.hub, onWarning: quiet, onLoadReport, baseDtype: o.baseDtype }, labels, padTokenId(tokenizer));
  const model = await PeftModel.fromPretrained(base, dir, o.hub);
  assertFiniteWeights(model, dir);
  const unrestored = fresh.filter((key) => !savedByAdapter(base, key));
  if (unrestored.length) {
    o.onWarning?.(`Some weights of ${base.constructor.name} are in neither ${baseRef} nor the adapter and are newly initialized: ${unrestored.map((k) => `'${k}'`).join(", ")}`);
  }
  return finish({ kind: "adapter", task, settings, tokenizer, model }, base, o);
}

/** Whether the adapter holds its own copy of the module a base weight belongs to (PEFT's modules_to_save). */
function savedByAdapter(base: PreTrainedModel, key: string): boolean {
  const parts = key.split(".");
  for (let i = 1; i < parts.length; i++) {
    if (base.getSubmodule(parts.slice(0, i).join(".")) instanceof ModulesToSaveWrapper) return true;
  }
  return false;
}

/** Without finetune.json, the label count is the saved classifier head's output size. */
async function adapterLabels(dir: string, hub: HubOptions): Promise<LabelSpec | undefined> {
  const file = await resolveModelFile(dir, "adapter_model.safetensors", { ...hub, required: true });
  for (const [key, t] of (await loadSafetensors(file)).tensors) {
    if (/(^|\.)(classifier|score)\.weight$/.test(key)) return { names: Array.from({ length: t.shape[0] }, (_, i) => `LABEL_${i}`), named: false };
  }
  return undefined;
}

async function loadFeatureOutput(dir: string, settings: RunSettings, o: LoadOutputOptions): Promise<LoadedOutput> {
  const baseRef = await modelRef(o.baseModel ?? settings.baseModel);
  const base = await loadBaseModel({ ref: baseRef, hub: o.hub, onWarning: o.onWarning, baseDtype: o.baseDtype });
  const file = join(dir, CLASSIFIER_FILE);
  const clf = settings.methodOptions.classifier === "mlp" ? await MLPClassifier.load(file) : await LogisticRegression.load(file);
  const { tokenizer } = await loadTokenizer(o.tokenizer ? [o.tokenizer] : [dir, baseRef], o.hub, baseRef);
  const maxLength = o.maxLength ?? settings.maxLength;
  const labelNames = settings.labelNames ?? [];
  const classifier = featureClassifier(base, clf, { tokenizer, maxLength, batchSize: o.batchSize, labelNames, pooling: settings.pooling ?? "cls" });
  return { kind: "feature", task: "seq-cls", settings, tokenizer, model: null, classifier, maxLength };
}

function finish(partial: Omit<LoadedOutput, "classifier" | "maxLength">, base: PreTrainedModel, o: LoadOutputOptions): LoadedOutput {
  const maxLength = o.maxLength ?? partial.settings?.maxLength ?? Math.min(512, partial.tokenizer.modelMaxLength, maxPositions(base));
  const labelNames = partial.settings?.labelNames ?? modelLabelNames(base);
  const classifier = partial.task === "seq-cls"
    ? modelClassifier(partial.model!, { tokenizer: partial.tokenizer, maxLength, batchSize: o.batchSize, labelNames })
    : null;
  return { ...partial, classifier, maxLength };
}

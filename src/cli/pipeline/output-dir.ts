// What a training run leaves in --output: the trained artifact in its usual format (a transformers model
// folder, a PEFT adapter, or a classifier file), the tokenizer, metrics.json, and finetune.json, which
// records how to use the artifact again (method, base model, labels, max length, feature settings).
import { mkdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { writeJsonAtomic } from "../../io/atomic.js";
import type { LogisticRegression, MLPClassifier, Pooling } from "../../methods/index.js";
import type { PreTrainedModel } from "../../models/index.js";
import type { PeftModel } from "../../peft/index.js";
import type { PreTrainedTokenizer } from "../../tokenizers/index.js";
import type { MethodName, MethodOptions, Task } from "../methods.js";

export const SETTINGS_FILE = "finetune.json";
export const METRICS_FILE = "metrics.json";
export const CLASSIFIER_FILE = "classifier.safetensors";
const FORMAT = 1;

export interface RunSettings {
  format: number;
  method: MethodName;
  task: Task;
  /** The pretrained model the run started from (adapters and feature-based outputs need it again). */
  baseModel: string;
  /** seq-cls: class names in id order. */
  labelNames: string[] | null;
  maxLength: number;
  methodOptions: MethodOptions;
  /** feature-based: how texts became vectors. */
  pooling: Pooling | null;
}

export type Artifact =
  | { kind: "model"; model: PreTrainedModel }
  | { kind: "adapter"; model: PeftModel }
  | { kind: "feature"; classifier: LogisticRegression | MLPClassifier };

const ARTIFACT_FILES = {
  model: ["config.json", "model.safetensors"],
  adapter: ["adapter_config.json", "adapter_model.safetensors"],
  feature: [CLASSIFIER_FILE],
};

/** Writes the artifact, tokenizer and settings; returns the artifact's size on disk in bytes. */
export async function saveOutput(dir: string, artifact: Artifact, tokenizer: PreTrainedTokenizer, settings: Omit<RunSettings, "format">): Promise<number> {
  await mkdir(dir, { recursive: true });
  if (artifact.kind === "feature") await artifact.classifier.save(join(dir, CLASSIFIER_FILE));
  else await artifact.model.savePretrained(dir);
  await tokenizer.savePretrained(dir);
  await writeJsonAtomic(join(dir, SETTINGS_FILE), { format: FORMAT, ...settings });
  let bytes = 0;
  for (const f of ARTIFACT_FILES[artifact.kind]) bytes += (await stat(join(dir, f))).size;
  return bytes;
}

export async function writeMetrics(dir: string, metrics: object): Promise<void> {
  await writeJsonAtomic(join(dir, METRICS_FILE), metrics);
}

/** finetune.json of an output folder, or null for folders finetune did not write. */
export async function readSettings(dir: string): Promise<RunSettings | null> {
  const file = join(dir, SETTINGS_FILE);
  const text = await readFile(file, "utf8").catch(() => null);
  if (text === null) return null;
  let s: Partial<RunSettings>;
  try {
    s = JSON.parse(text) as Partial<RunSettings>;
  } catch (e) {
    throw new Error(`${file}: invalid JSON (${(e as Error).message})`);
  }
  if (s.format !== FORMAT) throw new Error(`${file}: format ${JSON.stringify(s.format)} is not supported (expected ${FORMAT})`);
  for (const k of ["method", "task", "baseModel", "maxLength"] as const) if (s[k] === undefined) throw new Error(`${file}: field "${k}" is missing`);
  return s as RunSettings;
}

// The classification tasks that ship with finetune-ts, by the name `--dataset bundled:<name>` uses.
import { loadSentimentTask } from "./sentiment.js";
import { loadBundledTask, type TaskRow } from "./spam.js";

export interface BundledClassificationTask {
  train: TaskRow[];
  validation: TaskRow[];
  test: TaskRow[];
  labelNames: string[];
}

export const BUNDLED_TASKS: Record<string, { load: () => BundledClassificationTask; about: string }> = {
  sentiment: { load: loadSentimentTask, about: "one-sentence reviews (UCI Sentiment Labelled Sentences, CC BY 4.0): negative / positive" },
  spam: { load: loadBundledTask, about: "mail bodies (SpamAssassin public corpus): ham / spam" },
};

export const BUNDLED_PREFIX = "bundled:";

/** The task a `bundled:<name>` id names; an unknown name is an error listing the ones there are. */
export function bundledTask(id: string): BundledClassificationTask {
  const name = id.slice(BUNDLED_PREFIX.length);
  const task = Object.hasOwn(BUNDLED_TASKS, name) ? BUNDLED_TASKS[name] : undefined;
  if (!task) throw new Error(`--dataset ${id}: no such bundled task; bundled tasks: ${Object.keys(BUNDLED_TASKS).map((n) => BUNDLED_PREFIX + n).join(", ")}`);
  return task.load();
}

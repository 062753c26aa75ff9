// The bundled sentiment task (`bundled:sentiment`): the UCI Sentiment Labelled Sentences, one-sentence
// reviews of phones, films and restaurants, CC BY 4.0, shipped as JSONL splits in assets/datasets/uci-sentiment
// (its README has the attribution and the split rule). Binary sentiment is the seed article's task.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "./bundled-model.js";
import type { TaskRow } from "./spam.js";

export const SENTIMENT_LABEL_NAMES: ["negative", "positive"] = ["negative", "positive"];

export interface SentimentTask {
  train: TaskRow[];
  validation: TaskRow[];
  test: TaskRow[];
  labelNames: typeof SENTIMENT_LABEL_NAMES;
}

export function sentimentTaskDir(): string {
  return join(packageRoot(), "assets", "datasets", "uci-sentiment");
}

function readSplit(split: "train" | "validation" | "test"): TaskRow[] {
  const file = join(sentimentTaskDir(), `${split}.jsonl`);
  return readFileSync(file, "utf8").split("\n").filter(Boolean).map((line, i) => {
    const { text, label } = JSON.parse(line) as Partial<TaskRow>;
    if (typeof text !== "string" || (label !== 0 && label !== 1)) throw new Error(`${file}:${i + 1}: expected {"text": string, "label": 0 or 1}`);
    return { text, label };
  });
}

let cached: SentimentTask | null = null;

export function loadSentimentTask(): SentimentTask {
  cached ??= { train: readSplit("train"), validation: readSplit("validation"), test: readSplit("test"), labelNames: SENTIMENT_LABEL_NAMES };
  return cached;
}

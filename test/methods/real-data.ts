// The real inputs of the classic-approach tests: the bert-base-uncased tokenizer, UCI sentiment
// sentences, and a tiny randomly initialised DistilBERT sized for that vocabulary.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DistilBertForSequenceClassification, distilBertConfig } from "../../src/models/index.js";
import { manualSeed } from "../../src/tensor/index.js";
import { AutoTokenizer, type PreTrainedTokenizer } from "../../src/tokenizers/index.js";
import { DATA, UCI_SENTIMENT } from "../helpers/fixtures.js";

export function loadSentiment(rows: number): { texts: string[]; labels: Int32Array } {
  const lines = readFileSync(join(UCI_SENTIMENT, "train.jsonl"), "utf8").split("\n").filter(Boolean);
  const records = lines.slice(0, rows).map((l) => JSON.parse(l) as { text: string; label: number });
  return { texts: records.map((r) => r.text), labels: Int32Array.from(records, (r) => r.label) };
}

export function loadBertTokenizer(): Promise<PreTrainedTokenizer> {
  return AutoTokenizer.fromPretrained(join(DATA, "tokenizers/bert-base-uncased"));
}

export function tinyDistilBert(seed = 0): DistilBertForSequenceClassification {
  manualSeed(seed);
  return new DistilBertForSequenceClassification(distilBertConfig({
    vocabSize: 30522, dim: 32, nLayers: 2, nHeads: 4, hiddenDim: 64, maxPositionEmbeddings: 128, numLabels: 2,
  }));
}

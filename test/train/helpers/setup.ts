// Shared inputs of the trainer tests: real UCI sentiment sentences tokenized with the real bert-base-uncased
// tokenizer, and a tiny bag-of-embeddings classifier that honours the models' forward contract.
import { join } from "node:path";
import { DataLoader, type DataLoaderOptions } from "../../../src/data/dataloader.js";
import type { Example } from "../../../src/data/collate.js";
import { loadDataFiles } from "../../../src/data/load.js";
import type { ModelInput, ModelOutput } from "../../../src/models/outputs.js";
import { Dropout, Embedding, Linear, Module } from "../../../src/nn/index.js";
import { Tensor, crossEntropy, div, manualSeed, mul, reshape, sum } from "../../../src/tensor/index.js";
import { AutoTokenizer, type PreTrainedTokenizer } from "../../../src/tokenizers/index.js";
import { tokenizeDataset } from "../../../src/train/tokenize-dataset.js";
import { DATA, UCI_SENTIMENT } from "../../helpers/fixtures.js";
import { scratchDir } from "../../helpers/temp-dir.js";

export const UCI = UCI_SENTIMENT;
export const BERT_TOKENIZER = join(DATA, "tokenizers/bert-base-uncased");

let tokenizer: Promise<PreTrainedTokenizer> | undefined;
export function bertTokenizer(): Promise<PreTrainedTokenizer> {
  return (tokenizer ??= AutoTokenizer.fromPretrained(BERT_TOKENIZER));
}

const cache = new Map<string, Promise<Example[]>>();
/** The first `n` rows of a UCI split, tokenized (max 32 tokens). */
export function uciExamples(split: "train" | "validation" | "test", n: number): Promise<Example[]> {
  const key = `${split}:${n}`;
  if (!cache.has(key)) {
    cache.set(key, (async () => {
      const { rows } = await loadDataFiles(join(UCI, `${split}.jsonl`));
      return tokenizeDataset(await bertTokenizer(), rows.slice(0, n), { maxLength: 32 });
    })());
  }
  return cache.get(key)!;
}

export function loader(examples: Example[], opts: Partial<DataLoaderOptions> = {}): DataLoader {
  return new DataLoader(examples, { batchSize: 16, padTokenId: 0, seed: 7, ...opts });
}

/** Mean of the token embeddings under the attention mask, dropout, then a linear classifier. */
export class BagOfEmbeddings extends Module {
  embed: Embedding;
  dropout: Dropout;
  classifier: Linear;

  constructor(vocabSize = 30522, dim = 8, numLabels = 2, dropout = 0) {
    super();
    this.embed = this.addModule("embed", new Embedding(vocabSize, dim, 0));
    this.dropout = this.addModule("dropout", new Dropout(dropout));
    this.classifier = this.addModule("classifier", new Linear(dim, numLabels));
  }

  forward(input: ModelInput): ModelOutput {
    const ids = input.inputIds as Tensor, mask = input.attentionMask as Tensor;
    const [b, l] = ids.shape;
    const m = reshape(mask.to("float32"), [b, l, 1]);
    const pooled = div(sum(mul(this.embed.forward(ids), m), 1), sum(m, 1));
    const logits = this.classifier.forward(this.dropout.forward(pooled));
    return { logits, loss: input.labels ? crossEntropy(logits, input.labels as Tensor) : undefined };
  }
}

export function seededModel(seed: number, dropout = 0, vocabSize = 30522): BagOfEmbeddings {
  manualSeed(seed);
  return new BagOfEmbeddings(vocabSize, 8, 2, dropout);
}

export function tempDir(): Promise<string> {
  return scratchDir("finetune-train-");
}

/** A copy of every parameter's values, by name. */
export function snapshot(model: Module): Map<string, Float32Array> {
  return new Map([...model.namedParameters()].map(([n, p]) => [n, Float32Array.from(p.data)]));
}

export function maxDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let d = 0;
  for (const [k, v] of a) {
    const w = b.get(k)!;
    for (let i = 0; i < v.length; i++) d = Math.max(d, Math.abs(v[i] - w[i]));
  }
  return d;
}

/** metrics.csv as objects (empty cells left out). */
export function parseCsv(text: string): Record<string, number>[] {
  const [head, ...lines] = text.trim().split("\n");
  const cols = head.split(",");
  return lines.map((line) => {
    const row: Record<string, number> = {};
    line.split(",").forEach((v, i) => { if (v !== "") row[cols[i]] = Number(v); });
    return row;
  });
}

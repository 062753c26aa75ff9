// What packing buys in supervised fine-tuning: LoRA training steps on a small random Llama-style model over the
// same GSM8K prompt/completion rows (test/data/lm/gsm8k, real length spread), once batched as they are (each
// batch padded to its longest example) and once packed into rows of --max-length tokens. Reports real
// (non-padding) tokens per second for both, and the share of computed positions that were padding.
//   npm run bench -- packing [--json] [--rows N] [--max-length N] [--batch N]
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { backend } from "../src/backend/index.js";
import { DataLoader } from "../src/data/dataloader.js";
import type { Batch, Example } from "../src/data/collate.js";
import { packExamples } from "../src/data/packing.js";
import { readRecords } from "../src/data/records.js";
import { LlamaForCausalLM, llamaConfig } from "../src/models/index.js";
import { AdamW } from "../src/optim/index.js";
import { LoraConfig, getPeftModel } from "../src/peft/index.js";
import { manualSeed } from "../src/tensor/index.js";
import { AutoTokenizer } from "../src/tokenizers/index.js";
import { modelInput } from "../src/train/module.js";
import { tokenizeDataset } from "../src/train/tokenize-dataset.js";
import { otherArgument } from "./usage.js";

const DATA = fileURLToPath(new URL("../test/data/", import.meta.url));

export interface PackingBenchOptions {
  rows?: number;
  maxLength?: number;
  /** Unpacked examples per batch; packed batches hold as many rows as carry about the same tokens. */
  batch?: number;
}

interface Run {
  steps: number;
  seconds: number;
  tokens: number;
  positions: number;
  tokensPerSec: number;
  paddingShare: number;
}

export interface PackingBenchResult {
  rows: number;
  maxLength: number;
  unpacked: Run;
  packed: Run & { rowsPacked: number; batch: number };
  speedup: number;
  backend: string;
}

export async function runPackingBench(opts: PackingBenchOptions = {}): Promise<PackingBenchResult> {
  const rows = opts.rows ?? 128, maxLength = opts.maxLength ?? 512, batch = opts.batch ?? 8;
  const tokenizer = await AutoTokenizer.fromPretrained(join(DATA, "tokenizers/gpt2"));
  const records = (await readRecords(join(DATA, "lm/gsm8k/validation.jsonl"))).slice(0, rows);
  const examples = await tokenizeDataset(tokenizer, records, { task: "causal-lm", maxLength, onWarning: () => {} });
  const packed = packExamples(examples, maxLength);
  const meanLength = examples.reduce((n, e) => n + e.inputIds.length, 0) / examples.length;
  const packedBatch = Math.max(1, Math.round((batch * meanLength) / maxLength));
  const unpackedRun = train(examples, batch, tokenizer.eosTokenId!, tokenizer.length);
  const packedRun = train(packed, packedBatch, tokenizer.eosTokenId!, tokenizer.length);
  const be = backend();
  return {
    rows: examples.length, maxLength, unpacked: unpackedRun,
    packed: { ...packedRun, rowsPacked: packed.length, batch: packedBatch },
    speedup: packedRun.tokensPerSec / unpackedRun.tokensPerSec, backend: `${be.name} (${be.blas}), ${be.threads()} threads`,
  };
}

/** One epoch of LoRA steps over the examples in order; the first step is a warm-up and is not timed. */
function train(examples: Example[], batchSize: number, padTokenId: number, vocabSize: number): Run {
  manualSeed(0);
  const base = new LlamaForCausalLM(llamaConfig({ vocabSize, hiddenSize: 128, intermediateSize: 344, numHiddenLayers: 4,
    numAttentionHeads: 4, numKeyValueHeads: 2, maxPositionEmbeddings: 1024 }));
  const model = getPeftModel(base, new LoraConfig({ taskType: "CAUSAL_LM", r: 8, loraAlpha: 16, loraDropout: 0 }));
  const optimizer = new AdamW(model.parameters().filter((p) => p.requiresGrad), { lr: 1e-4 });
  const batches = [...new DataLoader(examples, { batchSize, padTokenId, seed: 0 })];
  const step = (b: Batch) => {
    optimizer.zeroGrad();
    model.forward(modelInput(b)).loss!.backward();
    optimizer.step();
  };
  step(batches[0]!);
  let tokens = 0, positions = 0;
  const started = performance.now();
  for (const b of batches.slice(1)) {
    step(b);
    positions += b.inputIds.numel;
    tokens += realTokens(b);
  }
  const seconds = (performance.now() - started) / 1000;
  return { steps: batches.length - 1, seconds, tokens, positions, tokensPerSec: tokens / seconds, paddingShare: 1 - tokens / positions };
}

/** Tokens of a batch that belong to an example: collate marks them 1 in the attention mask, packed or not. */
function realTokens(b: Batch): number {
  let n = 0;
  for (const m of b.attentionMask.data) n += m;
  return n;
}

export async function main(argv: string[]): Promise<PackingBenchResult> {
  const opts: PackingBenchOptions = {};
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = argv[i].split("=", 2);
    const num = () => Number(value ?? argv[++i]);
    if (flag === "--json") json = true;
    else if (flag === "--rows") opts.rows = num();
    else if (flag === "--max-length") opts.maxLength = num();
    else if (flag === "--batch") opts.batch = num();
    else otherArgument(import.meta.url, argv[i]);
  }
  const r = await runPackingBench(opts);
  if (json) console.log(JSON.stringify(r));
  else {
    const line = (name: string, x: Run) => `  ${name}: ${x.steps} steps, ${x.tokensPerSec.toFixed(0)} tokens/s, ${(100 * x.paddingShare).toFixed(1)}% of positions padding`;
    console.log(`LoRA SFT on ${r.rows} GSM8K rows, max length ${r.maxLength}, ${r.backend}`);
    console.log(line("unpacked", r.unpacked));
    console.log(line(`packed (${r.packed.rowsPacked} rows, batch ${r.packed.batch})`, r.packed));
    console.log(`  packing: ${r.speedup.toFixed(2)}x the tokens per second`);
  }
  return r;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main(process.argv.slice(2));

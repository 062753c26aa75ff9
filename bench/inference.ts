// Forward throughput of a DistilBERT-base-sized classifier (random weights, eval, no autograd graph).
//   node --import tsx bench/inference.ts [--json] [--batch N] [--seq N] [--steps N] [--warmup N]
// With --compare-ort, the comparison with ONNX Runtime in ./ort.ts instead (its own options).
import { pathToFileURL } from "node:url";
import { backend } from "../src/backend/index.js";
import { DistilBertForSequenceClassification, distilBertConfig } from "../src/models/distilbert/index.js";
import { manualSeed, noGrad, ones, randint } from "../src/tensor/index.js";
import { otherArgument } from "./usage.js";

export interface InferenceBenchOptions {
  batch?: number;
  seq?: number;
  steps?: number;
  warmup?: number;
}

export interface InferenceBenchResult {
  /** Median milliseconds per forward pass of the whole batch. */
  ms: number;
  seqPerSec: number;
  batch: number;
  seq: number;
  backend: string;
  threads: number;
}

export function runInferenceBench(opts: InferenceBenchOptions = {}): InferenceBenchResult {
  const batch = opts.batch ?? 8, seq = opts.seq ?? 128, steps = opts.steps ?? 10, warmup = opts.warmup ?? 2;
  manualSeed(0);
  const config = distilBertConfig({ vocabSize: 30522, dim: 768, nLayers: 6, nHeads: 12, hiddenDim: 3072, maxPositionEmbeddings: 512 });
  const model = new DistilBertForSequenceClassification(config).eval();
  const input = { inputIds: randint(0, config.vocabSize, [batch, seq]), attentionMask: ones([batch, seq]) };
  const times: number[] = [];
  noGrad(() => {
    for (let i = 0; i < warmup + steps; i++) {
      const t = process.hrtime.bigint();
      model.forward(input);
      if (i >= warmup) times.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  });
  times.sort((a, b) => a - b);
  const ms = times[times.length >> 1];
  const be = backend();
  return { ms, seqPerSec: (batch * 1000) / ms, batch, seq, backend: `${be.name} (${be.blas})`, threads: be.threads() };
}

export async function main(argv: string[]): Promise<unknown> {
  if (argv.includes("--compare-ort")) return (await import("./ort.js")).main(argv);
  const opts: InferenceBenchOptions = {};
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = argv[i].split("=", 2);
    const num = () => Number(value ?? argv[++i]);
    if (flag === "--json") json = true;
    else if (flag === "--batch") opts.batch = num();
    else if (flag === "--seq") opts.seq = num();
    else if (flag === "--steps") opts.steps = num();
    else if (flag === "--warmup") opts.warmup = num();
    else otherArgument(import.meta.url, argv[i]);
  }
  const r = runInferenceBench(opts);
  if (json) console.log(JSON.stringify(r));
  else console.log(`DistilBERT-base forward, batch ${r.batch} x seq ${r.seq}, ${r.backend}, ${r.threads} threads: ` +
    `${r.ms.toFixed(1)} ms/batch, ${r.seqPerSec.toFixed(1)} seq/s`);
  return r;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main(process.argv.slice(2));

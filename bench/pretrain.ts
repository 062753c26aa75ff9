// Pretraining-step bench: one step of the bundled encoder's masked-LM pretraining as `finetune pretrain` runs it
// (DistilBERT 4 layers x dim 256, 4 heads, FFN 1024, vocabulary 16384, batch 32 x 128, 15% of the tokens
// masked, the vocabulary projection only at masked positions and tied to the embeddings, dropout 0, gradient
// clipping at 1, AdamW), on random weights and random token ids. Small models spend a larger share of their step
// outside the GEMM (autograd, buffers, elementwise kernels, the embedding's gradient), which this case exposes.
//   npm run bench -- pretrain [--json] [--quick] [--steps N] [--warmup N] [--batch N] [--seq N] [--threads N]
// --quick: a tiny model (2 layers x dim 64, vocabulary 1024, batch 4 x 32) and two steps, to check it runs.
// Runs in a child process (its peak RSS is the step's alone), like the train suite's cases.
import { cpus, loadavg } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import { DistilBertForMaskedLM, distilBertConfig } from "../src/models/distilbert/index.js";
import { AdamW, clipGradNorm } from "../src/optim/index.js";
import { maskTokens } from "../src/pretrain/masking.js";
import { Generator, Tensor, manualSeed, ones } from "../src/tensor/index.js";
import { backendLabel, median } from "./train-case.js";
import { runChildCase } from "./train.js";

interface Shape { vocab: number; dim: number; layers: number; heads: number; hidden: number }

interface Options { batch: number; seq: number; steps: number; warmup: number; threads: number; json: boolean; quick: boolean; child: boolean }

const BUNDLED: Shape = { vocab: 16384, dim: 256, layers: 4, heads: 4, hidden: 1024 };
const QUICK: Shape = { vocab: 1024, dim: 64, layers: 2, heads: 2, hidden: 256 };
const MLM_PROBABILITY = 0.15;
// Ids below this are the tokenizer's special tokens ([PAD], [UNK], [CLS], [SEP], [MASK]).
const SPECIAL = 5, MASK_ID = 4;

export interface PretrainResult {
  ms: number;
  times: number[];
  /** Median CPU time per step (user + system, all threads): on a loaded machine a steadier relative measure than ms. */
  cpuMs: number;
  gflops: number;
  peakRssMb: number;
  maskedRows: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { batch: 32, seq: 128, steps: 5, warmup: 1, threads: 2, json: false, quick: false, child: false };
  let sized = false;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split("=", 2);
    const num = () => {
      const v = Number(inline ?? argv[++i]);
      if (!Number.isInteger(v) || v < 0) throw new Error(`bench/pretrain.ts: ${flag} needs a non-negative integer`);
      return v;
    };
    if (flag === "--json") o.json = true;
    else if (flag === "--quick") o.quick = true;
    else if (flag === "--child") { o.child = true; i++; }
    else if (flag === "--batch") { o.batch = num(); sized = true; }
    else if (flag === "--seq") { o.seq = num(); sized = true; }
    else if (flag === "--steps") o.steps = num();
    else if (flag === "--warmup") o.warmup = num();
    else if (flag === "--threads") o.threads = num();
    else throw new Error(`bench/pretrain.ts: unknown argument ${argv[i]}`);
  }
  if (o.quick && !sized) Object.assign(o, { batch: 4, seq: 32 });
  if (o.quick && !argv.some((a) => a.startsWith("--steps"))) o.steps = 2;
  return o;
}

/** GEMM FLOPs of one step, from the shapes: every encoder product three times (forward, dX, dW; the first
 *  layer's input has no gradient but its products' dW still run, and the embedding's dX is a gather), the
 *  head (transform and tied projection) on the `masked` rows only. */
function stepFlops(s: Shape, batch: number, seq: number, masked: number): number {
  const T = batch * seq, mm = (m: number, n: number, k: number) => 2 * m * n * k;
  const layer = 4 * mm(T, s.dim, s.dim) + 2 * mm(T, s.hidden, s.dim) + 2 * batch * s.heads * mm(seq, seq, s.dim / s.heads);
  const head = mm(masked, s.dim, s.dim) + mm(masked, s.vocab, s.dim);
  return 3 * (s.layers * layer + head);
}

async function runStep(o: Options): Promise<PretrainResult> {
  const s = o.quick ? QUICK : BUNDLED;
  manualSeed(0);
  const model = new DistilBertForMaskedLM(distilBertConfig({ vocabSize: s.vocab, dim: s.dim, nLayers: s.layers, nHeads: s.heads,
    hiddenDim: s.hidden, maxPositionEmbeddings: Math.max(o.seq, 128), dropout: 0, attentionDropout: 0 }));
  model.train();
  const params = model.parameters().filter((p) => p.requiresGrad);
  const opt = new AdamW(params, { lr: 1e-4, weightDecay: 0.01 });
  const gen = new Generator(42), n = o.batch * o.seq;
  // A fresh masking per step, as in pretraining: the number of masked rows (the head's batch) varies step to step.
  const batches = Array.from({ length: o.warmup + o.steps }, () => {
    const ids = Int32Array.from({ length: n }, () => SPECIAL + gen.int(s.vocab - SPECIAL));
    const m = maskTokens(ids, { maskTokenId: MASK_ID, vocabSize: s.vocab, specialIds: new Set([0, 1, 2, 3, 4]), mlmProbability: MLM_PROBABILITY }, gen);
    return { inputIds: new Tensor(m.inputIds, [o.batch, o.seq]), attentionMask: ones([o.batch, o.seq]), labels: new Tensor(m.labels, [o.batch, o.seq]) };
  });
  const times: number[] = [], cpuTimes: number[] = [];
  let masked = 0;
  for (let i = 0; i < o.warmup + o.steps; i++) {
    const input = batches[i];
    const t = process.hrtime.bigint(), cpu = process.cpuUsage();
    opt.zeroGrad();
    model.maskedLoss(input).loss.backward();
    clipGradNorm(params, 1);
    opt.step();
    if (i < o.warmup) continue;
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
    const used = process.cpuUsage(cpu);
    cpuTimes.push((used.user + used.system) / 1e3);
    masked += input.labels.data.filter((l) => l >= 0).length;
  }
  const ms = median(times);
  const flops = stepFlops(s, o.batch, o.seq, masked / Math.max(1, o.steps));
  return { ms, times, cpuMs: median(cpuTimes), gflops: flops / ms / 1e6, peakRssMb: process.resourceUsage().maxRSS / 1024, maskedRows: masked / Math.max(1, o.steps) };
}

const here = fileURLToPath(import.meta.url);

export async function main(argv: string[]): Promise<unknown> {
  const o = parseArgs(argv);
  if (o.child) {
    const r = await runStep(o);
    console.log(JSON.stringify(r));
    return r;
  }
  const s = o.quick ? QUICK : BUNDLED, load = loadavg()[0];
  console.log(`pretrain bench: masked-LM step, DistilBERT ${s.layers} layers x dim ${s.dim}, ${s.heads} heads, FFN ${s.hidden}, ` +
    `vocabulary ${s.vocab}; batch ${o.batch} x seq ${o.seq}, steps ${o.steps} after ${o.warmup} warm-up; ${backendLabel()}; ${cpus()[0]?.model ?? "cpu"}`);
  const args = argv.filter((a) => a !== "--json");
  const r = runChildCase(here, "mlm", args, o.threads) as PretrainResult;
  const r1 = (x: number) => Math.round(x * 10) / 10;
  const out = { ms: r1(r.ms), minMs: r1(Math.min(...r.times)), cpuMs: r1(r.cpuMs), gflops: r1(r.gflops), peakRssMb: Math.round(r.peakRssMb),
    maskedRows: Math.round(r.maskedRows), load: r1(load) };
  console.log(`pretrain-mlm ${out.ms.toFixed(1).padStart(8)} ms (fastest ${out.minMs.toFixed(1)}, CPU ${out.cpuMs.toFixed(1)})  ${out.gflops} GFLOP/s  ` +
    `peak ${out.peakRssMb} MB  ${out.maskedRows} masked rows  load ${out.load}`);
  if (o.json) console.log(JSON.stringify(out));
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main(process.argv.slice(2));

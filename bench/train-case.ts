// One case of the training bench in this process: the anchor's model, inputs and step, timed step by step.
// Run in a child process per case (bench/train.ts does that) so maxRSS is this case's peak alone.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { backend } from "../src/backend/index.js";
import { extractFeatures } from "../src/methods/index.js";
import { DistilBertForSequenceClassification, distilBertConfig } from "../src/models/distilbert/index.js";
import { storeFrozenWeightsInBf16 } from "../src/nn/index.js";
import { AdamW } from "../src/optim/index.js";
import { LoraConfig, PrefixTuningConfig, PromptTuningConfig, getPeftModel, type PeftModel } from "../src/peft/index.js";
import { type Tensor, manualSeed, noGrad, ones, randint } from "../src/tensor/index.js";
import { AutoTokenizer, type PreTrainedTokenizer } from "../src/tokenizers/index.js";
import { type CaseName, DISTILBERT_BASE, LORA_RANK, VIRTUAL_TOKENS, stepFlops } from "./train-flops.js";

export interface CaseOptions {
  batch: number;
  seq: number;
  steps: number;
  warmup: number;
  dropout: boolean;
  /** The dtype the base model is loaded in, as users load it: from the same checkpoint (prepareCheckpoint) either
   *  way, so peak RSS compares like with like; bf16 stores its frozen weights in bf16. */
  baseDtype: "fp32" | "bf16";
}

export interface CaseResult {
  case: CaseName;
  /** Median milliseconds per step (per forward for inference). */
  ms: number;
  times: number[];
  gflops: number;
  /** The backend's GEMM alone on the encoder's forward shapes (see gemmRate). */
  gemmGflops: number;
  peakRssMb: number;
  trainable: number;
}

type Runnable = DistilBertForSequenceClassification | PeftModel;

function randomModel(dropout: boolean): DistilBertForSequenceClassification {
  manualSeed(0);
  const p = dropout ? {} : { dropout: 0, attentionDropout: 0, seqClassifDropout: 0 };
  const { vocab, dim, layers, heads, hidden, labels } = DISTILBERT_BASE;
  return new DistilBertForSequenceClassification(distilBertConfig({
    vocabSize: vocab, dim, nLayers: layers, nHeads: heads, hiddenDim: hidden, numLabels: labels, ...p,
  }));
}

const checkpointDir = (dropout: boolean) =>
  fileURLToPath(new URL(`../.cache/bench/distilbert-base-random-bf16-dropout-${dropout ? "on" : "off"}`, import.meta.url));

/** The random model saved once as a bf16 checkpoint (as most checkpoints on the hub now are), which every case
 *  loads as a user would: widened to fp32, or with bf16 frozen weights whose bits go into the packed weights. */
export async function prepareCheckpoint(dropout: boolean): Promise<void> {
  const dir = checkpointDir(dropout);
  if (existsSync(`${dir}/model.safetensors`)) return;
  await randomModel(dropout).savePretrained(dir, { dtype: "bfloat16" });
}

async function build(c: CaseName, o: CaseOptions): Promise<Runnable> {
  const model = await DistilBertForSequenceClassification.fromPretrained(checkpointDir(o.dropout),
    { dtype: o.baseDtype === "bf16" ? "bfloat16" : "float32" });
  const dropout = o.dropout;
  switch (c) {
    case "inference": case "features": return model.requiresGrad(false);
    case "full": return model.requiresGrad(true); // a bf16 base is widened: full fine-tuning freezes nothing
    case "head":
      model.requiresGrad(false);
      model.preClassifier.requiresGrad(true);
      model.classifier.requiresGrad(true);
      return model;
    case "lora":
      return getPeftModel(model, new LoraConfig({ taskType: "SEQ_CLS", r: LORA_RANK, loraAlpha: 16,
        loraDropout: dropout ? 0.05 : 0, targetModules: ["q_lin", "v_lin"] }));
    case "prompt":
      return getPeftModel(model, new PromptTuningConfig({ taskType: "SEQ_CLS", numVirtualTokens: VIRTUAL_TOKENS }));
    case "prefix":
      return getPeftModel(model, new PrefixTuningConfig({ taskType: "SEQ_CLS", numVirtualTokens: VIRTUAL_TOKENS }));
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b), h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/** The backend's own GEMM on the encoder's forward shapes (median of the three), timed right after the
 *  steps so it sees the same machine load: the yardstick for the step's GFLOP/s. */
function gemmRate(): number {
  const { dim, hidden } = DISTILBERT_BASE, m = 1024, be = backend();
  const rates = [[dim, dim], [dim, hidden], [hidden, dim]].map(([k, n]) => {
    const g = { transA: false, transB: true, m, n, k, alpha: 1, beta: 0, a: new Float32Array(m * k).fill(0.5), aOffset: 0,
      lda: k, b: new Float32Array(n * k).fill(0.25), bOffset: 0, ldb: k, c: new Float32Array(m * n), cOffset: 0, ldc: n };
    const times = Array.from({ length: 6 }, () => {
      const t = process.hrtime.bigint();
      be.gemm(g);
      return Number(process.hrtime.bigint() - t);
    });
    return (2 * m * n * k) / median(times.slice(1));
  });
  return median(rates);
}

const TEST_DATA = new URL("../test/data/", import.meta.url);

/** `count` texts of real English (SST-2 validation sentences run together) that each tokenize to at least
 *  `tokens` tokens, so that truncation to `tokens` gives the anchor's batch shape exactly. */
async function longTexts(tokenizer: PreTrainedTokenizer, count: number, tokens: number): Promise<string[]> {
  const file = fileURLToPath(new URL("sentiment/sst2/validation.jsonl", TEST_DATA));
  const sentences = readFileSync(file, "utf8").split("\n").filter(Boolean).map((l) => (JSON.parse(l) as { text: string }).text);
  const texts: string[] = [];
  for (let i = 0; texts.length < count; ) {
    let text = "";
    while ((await tokenizer.encode(text)).length < tokens + 2) text += ` ${sentences[i++ % sentences.length]}`;
    texts.push(text.trim());
  }
  return texts;
}

/** Feature extraction as a user runs it (tokenize, frozen forward without autograd, [CLS] pooling), one
 *  batch of texts per step, with distilbert-base-uncased's real tokenizer (the bert-base-uncased vocabulary it shares). */
async function featureStep(model: Runnable, o: CaseOptions): Promise<() => Promise<void>> {
  const tokenizer = await AutoTokenizer.fromPretrained(fileURLToPath(new URL("tokenizers/bert-base-uncased", TEST_DATA)));
  const texts = await longTexts(tokenizer, o.batch, o.seq);
  const opts = { batchSize: o.batch, maxLength: o.seq, pooling: "cls" as const, onWarning: () => {} };
  return async () => { await extractFeatures(model as DistilBertForSequenceClassification, tokenizer, texts, opts); };
}

export async function runCase(c: CaseName, o: CaseOptions): Promise<CaseResult> {
  const model = await build(c, o);
  // The head the checkpoint holds loads in fp32; frozen here (inference, features), it goes to bf16 too.
  if (o.baseDtype === "bf16") storeFrozenWeightsInBf16(model);
  const input = { inputIds: randint(1000, DISTILBERT_BASE.vocab, [o.batch, o.seq]), attentionMask: ones([o.batch, o.seq]),
    labels: randint(0, 2, [o.batch]) };
  const params = model.parameters().filter((p) => p.requiresGrad);
  const opt = c === "inference" || c === "features" ? null : new AdamW(params, { lr: 1e-3, weightDecay: 0.01 });
  if (!opt) model.eval();
  else model.train();
  const features = c === "features" ? await featureStep(model, o) : null;
  const step = async (): Promise<void> => {
    if (features) return features();
    if (!opt) { noGrad(() => model.forward(input)); return; }
    opt.zeroGrad();
    (model.forward(input).loss as Tensor).backward();
    opt.step();
  };
  const times: number[] = [];
  for (let i = 0; i < o.warmup + o.steps; i++) {
    const t = process.hrtime.bigint();
    await step();
    if (i >= o.warmup) times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const ms = median(times), peakRssMb = process.resourceUsage().maxRSS / 1024;
  return {
    case: c, ms, times, gflops: stepFlops(c, o.batch, o.seq) / ms / 1e6, gemmGflops: gemmRate(), peakRssMb,
    trainable: params.reduce((n, p) => n + p.numel, 0),
  };
}

export function backendLabel(): string {
  const be = backend();
  return `${be.name} (${be.blas}), ${be.threads()} threads`;
}

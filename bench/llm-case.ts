// One case of the LLM bench in this process, on the model bench/torch/llm_bench.py builds: a Llama of
// SmolLM2-135M's shape (or a tiny one for --quick) with random weights and tied embeddings. Run in a child
// process per case (bench/llm.ts does that) so maxRSS is this case's peak alone.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { generationSteps, setGradientCheckpointing } from "../src/models/index.js";
import { LlamaForCausalLM, llamaConfig } from "../src/models/llama/index.js";
import { AdamW } from "../src/optim/index.js";
import { LoraConfig, getPeftModel } from "../src/peft/index.js";
import { type Tensor, manualSeed, randint } from "../src/tensor/index.js";
import { median } from "./train-case.js";

export const LLM_CASES = ["llm-lora", "llm-full", "llm-generate"] as const;
export type LlmCase = (typeof LLM_CASES)[number];

/** The same sizes as llm_bench.py's SIZES. */
export const LLM_SIZES = {
  smollm2: { vocabSize: 49152, hiddenSize: 576, numHiddenLayers: 30, numAttentionHeads: 9, numKeyValueHeads: 3, intermediateSize: 1536 },
  tiny: { vocabSize: 512, hiddenSize: 64, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 2, intermediateSize: 128 },
} as const;
export type LlmSize = keyof typeof LLM_SIZES;

export const LORA = { r: 16, loraAlpha: 32, loraDropout: 0.05, targetModules: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] };

export interface LlmCaseOptions {
  size: LlmSize;
  batch: number;
  seq: number;
  prefill: number;
  newTokens: number;
  steps: number;
  warmup: number;
  gradientCheckpointing: boolean;
  /** The dtype the base model is loaded in, from the same bf16 checkpoint either way (prepareLlmCheckpoint), so
   *  peak RSS compares like with like; bf16 keeps the frozen weights in bf16 (llm-full widens them all). */
  baseDtype: "fp32" | "bf16";
}

export interface LlmCaseResult {
  case: LlmCase;
  /** Median milliseconds per training step, or per generation of newTokens tokens. */
  ms: number;
  times: number[];
  /** Tokens trained on, or generated, per second. */
  tokensPerSec: number;
  /** llm-generate: the prefill (prompt forward and first token) and the tokens per second after it. */
  prefillMs?: number;
  decodeTokensPerSec?: number;
  /** Training: the largest ArrayBuffer total seen right after a forward pass, when the stored activations peak. */
  buffersAfterForwardMb?: number;
  peakRssMb: number;
  trainable: number;
}

const checkpointDir = (size: LlmSize) => fileURLToPath(new URL(`../.cache/bench/llama-${size}-random-bf16`, import.meta.url));

/** The random model saved once as a bf16 checkpoint, as SmolLM2's own weights are on the hub. */
export async function prepareLlmCheckpoint(size: LlmSize): Promise<void> {
  const dir = checkpointDir(size);
  if (existsSync(`${dir}/model.safetensors`)) return;
  manualSeed(0);
  await new LlamaForCausalLM(llamaConfig({ ...LLM_SIZES[size], rmsNormEps: 1e-5, ropeTheta: 100000, tieWordEmbeddings: true,
    maxPositionEmbeddings: 8192, eosTokenId: null })).savePretrained(dir, { dtype: "bfloat16" });
}

async function build(c: LlmCase, o: LlmCaseOptions) {
  const model = await LlamaForCausalLM.fromPretrained(checkpointDir(o.size), { dtype: o.baseDtype === "bf16" ? "bfloat16" : "float32" });
  if (c === "llm-full") model.requiresGrad(true);
  if (o.gradientCheckpointing) setGradientCheckpointing(model);
  return { model, runnable: c === "llm-lora" ? getPeftModel(model, new LoraConfig({ taskType: "CAUSAL_LM", ...LORA })) : model };
}

const mb = (bytes: number) => bytes / (1 << 20);

async function trainCase(c: LlmCase, o: LlmCaseOptions): Promise<LlmCaseResult> {
  const { runnable } = await build(c, o);
  manualSeed(0);
  const params = runnable.parameters().filter((p) => p.requiresGrad);
  const opt = new AdamW(params, { lr: 1e-4, weightDecay: 0.01 });
  const ids = randint(0, LLM_SIZES[o.size].vocabSize, [o.batch, o.seq]);
  runnable.train();
  const times: number[] = [];
  let afterForward = 0;
  for (let i = 0; i < o.warmup + o.steps; i++) {
    const t = process.hrtime.bigint();
    opt.zeroGrad();
    const loss = runnable.forward({ inputIds: ids, labels: ids }).loss as Tensor;
    afterForward = Math.max(afterForward, process.memoryUsage().arrayBuffers);
    loss.backward();
    opt.step();
    if (i >= o.warmup) times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const ms = median(times);
  return { case: c, ms, times, tokensPerSec: (1000 * o.batch * o.seq) / ms, buffersAfterForwardMb: mb(afterForward),
    peakRssMb: mb(process.resourceUsage().maxRSS * 1024), trainable: params.reduce((n, p) => n + p.numel, 0) };
}

/** Greedy decoding of one sequence with the cache, as generate() runs it; the first token comes from the prefill. */
async function generateCase(o: LlmCaseOptions): Promise<LlmCaseResult> {
  const { model } = await build("llm-generate", o);
  manualSeed(0);
  model.eval();
  const ids = randint(0, LLM_SIZES[o.size].vocabSize, [1, o.prefill]);
  const times: number[] = [], prefills: number[] = [];
  for (let i = 0; i < o.warmup + o.steps; i++) {
    const start = performance.now();
    let first = 0, n = 0;
    for (const _ of generationSteps(model, ids, { maxNewTokens: o.newTokens })) if (n++ === 0) first = performance.now();
    if (n !== o.newTokens) throw new Error(`llm-generate: ${n} tokens generated, ${o.newTokens} asked`);
    if (i >= o.warmup) { times.push(performance.now() - start); prefills.push(first - start); }
  }
  const ms = median(times), prefillMs = median(prefills);
  return { case: "llm-generate", ms, times, tokensPerSec: (1000 * o.newTokens) / ms, prefillMs,
    decodeTokensPerSec: (1000 * (o.newTokens - 1)) / (ms - prefillMs), peakRssMb: mb(process.resourceUsage().maxRSS * 1024), trainable: 0 };
}

export function runLlmCase(c: LlmCase, o: LlmCaseOptions): Promise<LlmCaseResult> {
  return c === "llm-generate" ? generateCase(o) : trainCase(c, o);
}

// The inference anchor: the same random-weight models run by ONNX Runtime (what transformers.js uses on Node)
// beside ours in one process, alternating runs, outputs checked against each other.
//   npm run bench -- inference --compare-ort [--cases encoder,features,generate] [--quick] [--peak GFLOPS] [--json]
//     [--batch 8] [--seq 128] [--steps 9] [--warmup 2] [--prompt 128] [--new-tokens 128] [--reps 3] [--base-dtype bf16]
//     [--ort-spinning]
// encoder:  a DistilBERT-base-sized classifier, batch x seq forward to its logits (eval, no graph). Ours runs the
//           last layer for the [CLS] row its head reads (keys and values still from every row); the export, as
//           transformers, computes every row of it.
// features: the same forward to the whole last hidden state (feature extraction: outputLastHiddenState on ours).
// generate: GPT-2-small shape, greedy generation with the key/value cache from a `prompt`-token prompt;
//           ONNX Runtime runs a with-past decoder export, the greedy loop written here. Ours, as transformers'
//           generate (logits_to_keep = 1), computes the prefill's logits for the last position only; the export
//           returns every position's.
// --base-dtype bf16: our side holds every weight matrix frozen in bf16 (storeFrozenWeightsInBf16), ONNX Runtime runs
// the same bf16-representable values in float32 (the goal is ours-in-bf16 against its fp32 time); the outputs then
// agree to bf16's rounding of the activations, a looser check.
// ONNX Runtime's worker threads spin by default (allow_spinning) and go on spinning after its run has returned,
// taking the second core from our next run in this alternation: we measured ours 15-25% slower beside them
// while ORT's own encoder time was no slower with spinning off (292 ms, against 296-338 with it). So each engine
// sleeps between its runs here; --ort-spinning restores ORT's default.
// Our weights are saved as safetensors, loaded into plain PyTorch by bench/torch/ort_export.py and exported
// with torch.onnx.export (opset 14). onnxruntime-node is installed on first use into .cache/onnxruntime,
// never as a dependency of the package: its install script would fetch GPU libraries unless
// ONNXRUNTIME_NODE_INSTALL=skip is set, and the CPU binaries are in the package itself.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { backend } from "../src/backend/index.js";
import { DistilBertForSequenceClassification, distilBertConfig } from "../src/models/distilbert/index.js";
import { generationSteps } from "../src/models/generation.js";
import { GPT2LMHeadModel, gpt2Config } from "../src/models/gpt2/index.js";
import type { PreTrainedModel } from "../src/models/pretrained.js";
import { storeFrozenWeightsInBf16 } from "../src/nn/index.js";
import { manualSeed, noGrad, ones, randint } from "../src/tensor/index.js";
import { oneOf, otherArgument } from "./usage.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const ORT_VERSION = "1.30.0";
const ORT_DIR = join(ROOT, ".cache", "onnxruntime");
const PYTHON = process.env.FINETUNE_TORCH_PYTHON ?? "/usr/bin/python3";

// The slice of onnxruntime-node's API used here (its own typings live in the cache folder, outside the build).
interface OrtTensor { readonly data: Float32Array | BigInt64Array; readonly dims: readonly number[] }
interface OrtSession { run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>; release(): Promise<void> }
interface Ort {
  InferenceSession: { create(path: string, options: Record<string, unknown>): Promise<OrtSession> };
  Tensor: new (type: "float32" | "int64", data: Float32Array | BigInt64Array, dims: number[]) => OrtTensor;
}

/** onnxruntime-node from .cache/onnxruntime, installed there (CPU binaries only) when missing. */
export function loadOrt(): Ort {
  const pkg = join(ORT_DIR, "node_modules", "onnxruntime-node", "package.json");
  const installed = existsSync(pkg) ? (JSON.parse(readFileSync(pkg, "utf8")) as { version: string }).version : null;
  if (installed !== ORT_VERSION) {
    console.error(`bench: installing onnxruntime-node@${ORT_VERSION} into .cache/onnxruntime (bench only, CPU binaries)`);
    const r = spawnSync("npm", ["install", "--prefix", ORT_DIR, "--no-save", "--no-package-lock", "--no-audit", "--no-fund",
      "--fetch-timeout=60000", "--fetch-retries=4", `onnxruntime-node@${ORT_VERSION}`],
    { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: "skip" } });
    if (r.status !== 0) throw new Error(`bench: npm could not install onnxruntime-node@${ORT_VERSION} into ${ORT_DIR}`);
  }
  return createRequire(pkg)("onnxruntime-node") as Ort;
}

/** With --base-dtype bf16, the weight matrices become frozen bf16 before the export, so both sides run one model. */
function applyBaseDtype(model: PreTrainedModel, dtype: BaseDtype): void {
  if (dtype === "bf16") storeFrozenWeightsInBf16(model.requiresGrad(false));
}

/** Saves `model`, exports it with bench/torch/ort_export.py and returns the .onnx path (in `dir`). */
async function exportOnnx(kind: "distilbert" | "gpt2", model: PreTrainedModel, dir: string): Promise<string> {
  await model.savePretrained(join(dir, "model"));
  const out = join(dir, `${kind}.onnx`);
  const r = spawnSync(PYTHON, [join(ROOT, "bench", "torch", "ort_export.py"), kind, join(dir, "model"), out],
    { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  if (r.status !== 0) throw new Error(`bench: ${PYTHON} bench/torch/ort_export.py ${kind} failed (status ${r.status}): ${r.stderr?.trim().split("\n").at(-1) ?? r.error}`);
  return out;
}

function session(ort: Ort, path: string, s: Shapes): Promise<OrtSession> {
  // As the measurement and transformers.js on CPU: ORT's own thread pool, full graph optimisation.
  return ort.InferenceSession.create(path, { intraOpNumThreads: backend().threads(), interOpNumThreads: 1,
    graphOptimizationLevel: "all", executionMode: "sequential",
    ...(s.ortSpinning ? {} : { extra: { session: { intra_op: { allow_spinning: "0" } } } }) });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const now = () => Number(process.hrtime.bigint()) / 1e6;

/** ‖a − b‖ / ‖b‖. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`bench: outputs of ${a.length} and ${b.length} values differ in size`);
  let d = 0, n = 0;
  for (let i = 0; i < a.length; i++) { d += (a[i] - b[i]) ** 2; n += b[i] ** 2; }
  return Math.sqrt(d / (n || 1));
}

/** Ours and ONNX Runtime's outputs must agree as two float32 implementations of one model do; with bf16 weights
 *  our GEMM also rounds the activations to bf16 (8 significant bits), which a deep stack compounds. */
const TOLERANCE = { fp32: 1e-4, bf16: 3e-2 };
function checkAgreement(what: string, err: number, dtype: BaseDtype): void {
  if (!(err <= TOLERANCE[dtype])) throw new Error(`bench: ${what} differ between finetune-ts (${dtype} weights) and ONNX Runtime (relative error ${err.toExponential(2)} > ${TOLERANCE[dtype]})`);
}

export interface Side { ms: number; fastestMs: number; gflops: number }
export interface EncoderResult {
  case: "encoder" | "features"; batch: number; seq: number; flops: { ours: number; ort: number }; ours: Side; ort: Side; ratio: number;
  seqPerSec: { ours: number; ort: number }; relErr: number;
}
export interface GenerateResult {
  case: "generate"; prompt: number; newTokens: number; ours: Side & { tokensPerSec: number; decodeTokensPerSec: number; prefillMs: number };
  ort: Side & { tokensPerSec: number; decodeTokensPerSec: number; prefillMs: number }; ratio: number; prefillRelErr: number; tokensAgree: number;
}

type BaseDtype = "fp32" | "bf16";
interface Shapes { baseDtype: BaseDtype; quick: boolean; batch: number; seq: number; steps: number; warmup: number; prompt: number; newTokens: number; reps: number; ortSpinning: boolean }

function side(times: number[], flops: number): Side {
  const ms = median(times);
  return { ms, fastestMs: Math.min(...times), gflops: flops / ms / 1e6 };
}

export async function compareEncoder(ort: Ort, s: Shapes, dir: string, what: "encoder" | "features"): Promise<EncoderResult> {
  manualSeed(0);
  const config = s.quick
    ? distilBertConfig({ vocabSize: 1000, dim: 64, nLayers: 2, nHeads: 4, hiddenDim: 256, maxPositionEmbeddings: 64 })
    : distilBertConfig({ vocabSize: 30522, dim: 768, nLayers: 6, nHeads: 12, hiddenDim: 3072, maxPositionEmbeddings: 512 });
  const model = new DistilBertForSequenceClassification(config).eval();
  applyBaseDtype(model, s.baseDtype);
  const sess = await session(ort, await exportOnnx("distilbert", model, dir), s);
  const ids = randint(0, config.vocabSize, [s.batch, s.seq]), mask = ones([s.batch, s.seq]);
  const feeds = {
    input_ids: new ort.Tensor("int64", BigInt64Array.from(ids.data, BigInt), [s.batch, s.seq]),
    attention_mask: new ort.Tensor("int64", new BigInt64Array(s.batch * s.seq).fill(1n), [s.batch, s.seq]),
  };
  // FLOPs of a layer whose keys and values come from every row and everything else from `rows` of them each.
  const D = config.dim, T = s.batch * s.seq, F = config.hiddenDim;
  const layer = (rows: number) => 2 * T * D * 2 * D + 2 * s.batch * rows * (D * (2 * D + 2 * F) + 2 * s.seq * D);
  const head = 2 * s.batch * D * (D + config.numLabels);
  const flops = { ort: config.nLayers * layer(s.seq) + head,
    ours: (config.nLayers - 1) * layer(s.seq) + layer(what === "encoder" ? 1 : s.seq) + head };
  const output = what === "encoder" ? "logits" : "last_hidden_state";
  const ours: number[] = [], theirs: number[] = [];
  let relErr = NaN;
  for (let i = 0; i < s.warmup + s.steps; i++) {
    let t = now();
    const out = noGrad(() => model.forward({ inputIds: ids, attentionMask: mask, outputLastHiddenState: what === "features" }));
    const ourMs = now() - t;
    t = now();
    const r = await sess.run(feeds);
    const ortMs = now() - t;
    if (i === 0) {
      relErr = relativeError((what === "encoder" ? out.logits : out.lastHiddenState!).f, r[output].data as Float32Array);
      checkAgreement(output, relErr, s.baseDtype);
    }
    if (i >= s.warmup) { ours.push(ourMs); theirs.push(ortMs); }
  }
  await sess.release();
  const o = side(ours, flops.ours), x = side(theirs, flops.ort);
  return { case: what, batch: s.batch, seq: s.seq, flops, ours: o, ort: x, ratio: o.ms / x.ms,
    seqPerSec: { ours: (s.batch * 1000) / o.ms, ort: (s.batch * 1000) / x.ms }, relErr };
}

const argmax = (x: Float32Array, from: number, n: number) => {
  let best = 0;
  for (let j = 1; j < n; j++) if (x[from + j] > x[from + best]) best = j;
  return best;
};

export async function compareGeneration(ort: Ort, s: Shapes, dir: string): Promise<GenerateResult> {
  manualSeed(0);
  const config = s.quick
    ? gpt2Config({ vocabSize: 1000, nPositions: 128, nEmbd: 64, nLayer: 2, nHead: 4 })
    : gpt2Config({ vocabSize: 50257, nPositions: 1024, nEmbd: 768, nLayer: 12, nHead: 12 });
  const model = new GPT2LMHeadModel(config).eval();
  applyBaseDtype(model, s.baseDtype);
  const sess = await session(ort, await exportOnnx("gpt2", model, dir), s);
  const prompt = randint(0, config.vocabSize, [1, s.prompt]);
  const { nLayer: L, nHead: H, headDim: hd, nEmbd: E, vocabSize: V } = config;

  // Prefill produces the first token; each of the other newTokens - 1 is one single-token step.
  async function ortGenerate(): Promise<{ tokens: number[]; prefillMs: number; totalMs: number; prefill: Float32Array }> {
    const t0 = now();
    const feeds: Record<string, OrtTensor> = { input_ids: new ort.Tensor("int64", BigInt64Array.from(prompt.data, BigInt), [1, s.prompt]) };
    for (let l = 0; l < L; l++) for (const kv of ["key", "value"])
      feeds[`past.${l}.${kv}`] = new ort.Tensor("float32", new Float32Array(0), [1, H, 0, hd]);
    const tokens: number[] = [];
    let prefillMs = 0, prefill = new Float32Array(0);
    for (let n = 0; n < s.newTokens; n++) {
      const r = await sess.run(feeds);
      const logits = r.logits.data as Float32Array, len = r.logits.dims[1];
      tokens.push(argmax(logits, (len - 1) * V, V));
      if (n === 0) { prefillMs = now() - t0; prefill = logits.slice((len - 1) * V); }
      feeds.input_ids = new ort.Tensor("int64", BigInt64Array.of(BigInt(tokens[n])), [1, 1]);
      for (let l = 0; l < L; l++) for (const kv of ["key", "value"]) feeds[`past.${l}.${kv}`] = r[`present.${l}.${kv}`];
    }
    return { tokens, prefillMs, totalMs: now() - t0, prefill };
  }

  function ourGenerate(): { tokens: number[]; prefillMs: number; totalMs: number } {
    const t0 = now();
    const tokens: number[] = [];
    let prefillMs = 0;
    for (const next of generationSteps(model, prompt, { maxNewTokens: s.newTokens, eosTokenId: null, padTokenId: 0 })) {
      tokens.push(next[0]);
      if (tokens.length === 1) prefillMs = now() - t0;
    }
    return { tokens, prefillMs, totalMs: now() - t0 };
  }

  type Run = ReturnType<typeof ourGenerate>;
  const ours: Run[] = [], theirs: (Run & { prefill: Float32Array })[] = [];
  for (let i = 0; i < 1 + s.reps; i++) { // the first of each is warm-up
    ours.push(ourGenerate());
    theirs.push(await ortGenerate());
  }
  await sess.release();
  const ourPrefill = noGrad(() => model.forward({ inputIds: prompt }).logits.f.slice((s.prompt - 1) * V));
  const prefillRelErr = relativeError(ourPrefill, theirs[0].prefill);
  checkAgreement("prefill logits", prefillRelErr, s.baseDtype);
  const tokensAgree = ours[0].tokens.findIndex((t, i) => t !== theirs[0].tokens[i]);
  // FLOPs: every layer's four products per token, attention over the keys so far, the LM head per position.
  const perToken = (keys: number) => L * (2 * E * 12 * E + 4 * keys * E);
  let flops = s.prompt * 2 * E * V;
  for (let p = 0; p < s.prompt; p++) flops += perToken(p + 1);
  for (let p = s.prompt; p < s.prompt + s.newTokens - 1; p++) flops += perToken(p + 1) + 2 * E * V;
  const summarize = (runs: Run[]) => {
    const timed = runs.slice(1), ms = median(timed.map((r) => r.totalMs)), prefillMs = median(timed.map((r) => r.prefillMs));
    return { ms, fastestMs: Math.min(...timed.map((r) => r.totalMs)), gflops: flops / ms / 1e6, prefillMs,
      tokensPerSec: (s.newTokens * 1000) / ms, decodeTokensPerSec: ((s.newTokens - 1) * 1000) / (ms - prefillMs) };
  };
  const o = summarize(ours), x = summarize(theirs);
  return { case: "generate", prompt: s.prompt, newTokens: s.newTokens, ours: o, ort: x, ratio: o.ms / x.ms, prefillRelErr,
    tokensAgree: tokensAgree < 0 ? s.newTokens : tokensAgree };
}

export async function main(argv: string[]): Promise<(EncoderResult | GenerateResult)[]> {
  let json = false, peak = 0, cases = ["encoder", "features", "generate"];
  const given: Partial<Shapes> = {};
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = argv[i].split("=", 2);
    const num = () => {
      const v = Number(value ?? argv[++i]);
      if (!(v > 0)) throw new Error(`bench: ${flag} needs a positive number`);
      return v;
    };
    if (flag === "--json") json = true;
    else if (flag === "--compare-ort") continue;
    else if (flag === "--quick") given.quick = true;
    else if (flag === "--ort-spinning") given.ortSpinning = true;
    else if (flag === "--peak") peak = num();
    else if (flag === "--cases") cases = (value ?? argv[++i]).split(",");
    else if (flag === "--batch") given.batch = num();
    else if (flag === "--seq") given.seq = num();
    else if (flag === "--steps") given.steps = num();
    else if (flag === "--warmup") given.warmup = num();
    else if (flag === "--prompt") given.prompt = num();
    else if (flag === "--new-tokens") given.newTokens = num();
    else if (flag === "--reps") given.reps = num();
    else if (flag === "--base-dtype") given.baseDtype = oneOf(flag, value ?? argv[++i], ["fp32", "bf16"]);
    else otherArgument(import.meta.url, argv[i]);
  }
  for (const c of cases) if (c !== "encoder" && c !== "features" && c !== "generate") throw new Error(`bench: unknown --cases entry "${c}"; cases: encoder, features, generate`);
  const quick = given.quick ?? false;
  const s: Shapes = { baseDtype: "fp32", quick, batch: quick ? 2 : 8, seq: quick ? 16 : 128, steps: quick ? 3 : 9, warmup: quick ? 1 : 2,
    prompt: quick ? 16 : 128, newTokens: quick ? 8 : 128, reps: quick ? 1 : 3, ortSpinning: false, ...given };
  const ort = loadOrt();
  const be = backend();
  const pct = (g: number) => (peak ? ` (${((100 * g) / peak).toFixed(0)}% of peak ${peak})` : "");
  if (!json) console.log(`finetune-ts ${be.name} (${be.blas}), ${be.threads()} threads, against onnxruntime-node ${ORT_VERSION} ` +
    `(intraOpNumThreads ${be.threads()}, graph optimisation all, spinning ${s.ortSpinning ? "on" : "off"}), our weights ${s.baseDtype} (ORT's fp32)${quick ? ", quick shapes" : ""}`);
  const dir = mkdtempSync(join(tmpdir(), "finetune-ort-"));
  const results: (EncoderResult | GenerateResult)[] = [];
  try {
    for (const c of cases) {
      const r = c === "generate" ? await compareGeneration(ort, s, dir) : await compareEncoder(ort, s, dir, c as "encoder" | "features");
      results.push(r);
      if (json) continue;
      if (r.case !== "generate") {
        const to = r.case === "encoder" ? "classifier logits" : "last hidden state (feature extraction)";
        console.log(`encoder forward to the ${to}, batch ${r.batch} x seq ${r.seq}, median of ${s.steps} alternating runs:`);
        for (const [name, x, sps, flops] of [["finetune-ts ", r.ours, r.seqPerSec.ours, r.flops.ours], ["ONNX Runtime", r.ort, r.seqPerSec.ort, r.flops.ort]] as const)
          console.log(`  ${name}  ${x.ms.toFixed(1)} ms (fastest ${x.fastestMs.toFixed(1)}), ${sps.toFixed(1)} seq/s, ${(flops / 1e9).toFixed(1)} GFLOP at ${x.gflops.toFixed(1)} GFLOP/s${pct(x.gflops)}`);
        console.log(`  ratio (ours / ORT time) ${r.ratio.toFixed(2)}; relative error ${r.relErr.toExponential(1)}`);
      } else {
        console.log(`generation, GPT-2 shape, prompt ${r.prompt}, ${r.newTokens} greedy tokens with the KV cache, median of ${s.reps}:`);
        for (const [name, x] of [["finetune-ts ", r.ours], ["ONNX Runtime", r.ort]] as const)
          console.log(`  ${name}  ${x.ms.toFixed(0)} ms, ${x.tokensPerSec.toFixed(1)} tokens/s (prefill ${x.prefillMs.toFixed(1)} ms, ` +
            `decode ${x.decodeTokensPerSec.toFixed(1)} tokens/s), ${x.gflops.toFixed(1)} GFLOP/s${pct(x.gflops)}`);
        console.log(`  ratio (ours / ORT time) ${r.ratio.toFixed(2)}; prefill logits relative error ${r.prefillRelErr.toExponential(1)}; ` +
          `${r.tokensAgree} of ${r.newTokens} tokens agree`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (json) console.log(JSON.stringify({ backend: `${be.name} (${be.blas})`, threads: be.threads(), ort: ORT_VERSION, baseDtype: s.baseDtype,
    peak: peak || null, results }));
  return results;
}

// Small-LLM bench: a Llama of SmolLM2-135M's shape (bench/llm-case.ts), LoRA and full training steps and greedy
// generation with the cache, each beside the same case in PyTorch (bench/torch/llm_bench.py) in the same run.
//   npm run bench -- llm [--compare-torch] [--cases llm-lora,llm-full,llm-generate] [--quick] [--json]
//                        [--batch N] [--seq N] [--prefill N] [--new-tokens N] [--steps N] [--warmup N] [--threads N]
//                        [--gradient-checkpointing] [--checkpoint-sweep] [--base-dtype bf16]
// Defaults: batch 4 x seq 256 for training, a prefill of 128 tokens then 128 new ones for generation, 3 timed steps
// after 1 warm-up. --quick: a 2-layer model of width 64, batch 2 x seq 32, 16 + 16 tokens, 2 steps: it checks that
// every case runs, its times mean nothing. --checkpoint-sweep: our training cases (llm-lora, llm-full, or those of
// --cases) at seq 512 and 1024 (quick: 64 and 128), batch --batch (default 1), without and with gradient
// checkpointing: step time, peak RSS and the buffers held after the forward pass. Each case runs in its own
// child process (peak RSS per case); the PyTorch side runs right after ours. --gradient-checkpointing checkpoints
// our side of the plain run (PyTorch's side never does). Every case loads the model from one bf16 checkpoint written
// once to .cache/bench; --base-dtype bf16 keeps its frozen weights in bf16 (PyTorch's side stays fp32).
import { cpus, loadavg } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import { LLM_CASES, type LlmCase, type LlmCaseOptions, type LlmCaseResult, prepareLlmCheckpoint, runLlmCase } from "./llm-case.js";
import { backendLabel } from "./train-case.js";
import { type TorchInfo, reportTorch, runAnchor, runChildCase, torchInfo } from "./train.js";
import { oneOf, otherArgument } from "./usage.js";

interface Options extends LlmCaseOptions {
  cases: LlmCase[];
  json: boolean;
  compareTorch: boolean;
  sweep: boolean;
  threads: number;
  child: LlmCase | null;
}

export interface LlmCaseReport {
  ms: number;
  minMs: number;
  tokensPerSec: number;
  prefillMs?: number;
  decodeTokensPerSec?: number;
  peakRssMb: number;
  torchMs?: number;
  torchMinMs?: number;
  torchTokensPerSec?: number;
  torchPrefillMs?: number;
  torchDecodeTokensPerSec?: number;
  torchPeakRssMb?: number;
  /** ours / PyTorch: time per step (per generation), so below 1 is faster; for llm-generate also tokens/s ours / PyTorch. */
  ratio?: number;
  minRatio?: number;
  tokensPerSecRatio?: number;
  load: number;
}

const here = fileURLToPath(import.meta.url);
const anchor = process.env.FINETUNE_TORCH_LLM_ANCHOR ?? fileURLToPath(new URL("torch/llm_bench.py", import.meta.url));

const QUICK = { size: "tiny", batch: 2, seq: 32, prefill: 16, newTokens: 16, steps: 2, warmup: 1 } as const;

function parseArgs(argv: string[]): Options {
  const o: Options = { size: "smollm2", batch: 4, seq: 256, prefill: 128, newTokens: 128, steps: 3, warmup: 1, gradientCheckpointing: false, baseDtype: "fp32",
    cases: [...LLM_CASES], json: false, compareTorch: false, sweep: false, threads: 2, child: null };
  const given = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split("=", 2);
    const value = () => inline ?? argv[++i];
    const num = (least: number) => {
      const v = Number(value());
      if (!Number.isInteger(v) || v < least) throw new Error(`bench/llm.ts: ${flag} needs an integer >= ${least}`);
      return v;
    };
    const caseName = (s: string) => {
      if (!LLM_CASES.includes(s as LlmCase)) throw new Error(`bench/llm.ts: unknown case "${s}"; cases: ${LLM_CASES.join(", ")}`);
      return s as LlmCase;
    };
    given.add(flag);
    if (flag === "--json") o.json = true;
    else if (flag === "--compare-torch") o.compareTorch = true;
    else if (flag === "--checkpoint-sweep") o.sweep = true;
    else if (flag === "--gradient-checkpointing") o.gradientCheckpointing = true;
    else if (flag === "--quick") o.size = "tiny";
    else if (flag === "--base-dtype") o.baseDtype = oneOf(flag, value(), ["fp32", "bf16"]);
    else if (flag === "--size") o.size = oneOf(flag, value(), ["smollm2", "tiny"]);
    else if (flag === "--batch") o.batch = num(1);
    else if (flag === "--seq") o.seq = num(2);
    else if (flag === "--prefill") o.prefill = num(1);
    else if (flag === "--new-tokens") o.newTokens = num(1);
    else if (flag === "--steps") o.steps = num(1);
    else if (flag === "--warmup") o.warmup = num(0);
    else if (flag === "--threads") o.threads = num(1);
    else if (flag === "--cases") o.cases = value().split(",").map(caseName);
    else if (flag === "--child") o.child = caseName(value());
    else otherArgument(import.meta.url, argv[i]);
  }
  // --quick sets the shapes a flag given explicitly did not; the sweep defaults to batch 1 (its longest rows are 1024).
  if (given.has("--quick")) for (const [k, v] of Object.entries(QUICK)) if (!given.has(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`)) Object.assign(o, { [k]: v });
  if (o.sweep && !given.has("--batch")) o.batch = 1;
  return o;
}

/** Our side's flags beyond the shapes both sides take. */
const oursArgs = (o: LlmCaseOptions, checkpointing: boolean) => ["--base-dtype", o.baseDtype, ...(checkpointing ? ["--gradient-checkpointing"] : [])];

function caseArgs(o: LlmCaseOptions): string[] {
  return ["--size", o.size, "--batch", `${o.batch}`, "--seq", `${o.seq}`, "--prefill", `${o.prefill}`, "--new-tokens", `${o.newTokens}`,
    "--steps", `${o.steps}`, "--warmup", `${o.warmup}`];
}

const r1 = (x: number) => Math.round(x * 10) / 10;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

function runOne(c: LlmCase, o: Options): LlmCaseReport {
  const load = loadavg()[0];
  const ours = runChildCase(here, c, [...caseArgs(o), ...oursArgs(o, o.gradientCheckpointing)], o.threads) as LlmCaseResult;
  const rep: LlmCaseReport = { ms: r1(ours.ms), minMs: r1(Math.min(...ours.times)), tokensPerSec: r1(ours.tokensPerSec),
    prefillMs: ours.prefillMs === undefined ? undefined : r1(ours.prefillMs),
    decodeTokensPerSec: ours.decodeTokensPerSec === undefined ? undefined : r1(ours.decodeTokensPerSec), peakRssMb: Math.round(ours.peakRssMb), load: r1(load) };
  if (o.compareTorch) {
    const { result: t, peakRssMb } = runAnchor(anchor, c, ["--threads", `${o.threads}`, ...caseArgs(o)]);
    const num = (k: string) => (typeof t[k] === "number" ? r1(t[k] as number) : undefined);
    Object.assign(rep, { torchMs: r1(t.median_s * 1000), torchMinMs: r1(t.min_s * 1000), torchTokensPerSec: num("tokens_per_s"),
      torchPrefillMs: typeof t.prefill_s === "number" ? r1(t.prefill_s * 1000) : undefined, torchDecodeTokensPerSec: num("decode_tokens_per_s"),
      torchPeakRssMb: Math.round(peakRssMb), ratio: r3(ours.ms / (t.median_s * 1000)), minRatio: r3(Math.min(...ours.times) / (t.min_s * 1000)),
      tokensPerSecRatio: r3(ours.tokensPerSec / (t.tokens_per_s as number)) });
  }
  return rep;
}

function describe(c: LlmCase, r: LlmCaseReport): string {
  const torch = r.torchMs === undefined ? "" : `  torch ${r.torchMs.toFixed(1).padStart(9)} ms  ratio ${r.ratio!.toFixed(3)}` +
    ` (fastest ${r.minMs.toFixed(0)} / ${r.torchMinMs!.toFixed(0)} ms: ${r.minRatio!.toFixed(3)})`;
  const tokens = `${r.tokensPerSec} tokens/s${r.torchTokensPerSec === undefined ? "" : ` (torch ${r.torchTokensPerSec}, ours/torch ${r.tokensPerSecRatio})`}`;
  const gen = r.prefillMs === undefined ? "" : `  prefill ${r.prefillMs} ms${r.torchPrefillMs === undefined ? "" : ` (torch ${r.torchPrefillMs})`}, decode ` +
    `${r.decodeTokensPerSec} tokens/s${r.torchDecodeTokensPerSec === undefined ? "" : ` (torch ${r.torchDecodeTokensPerSec})`}`;
  const rss = `peak ${r.peakRssMb} MB${r.torchPeakRssMb === undefined ? "" : ` (torch ${r.torchPeakRssMb})`}`;
  return `${c.padEnd(12)} ${r.ms.toFixed(1).padStart(9)} ms${torch}  ${tokens}${gen}  ${rss}  load ${r.load}`;
}

function checkpointSweep(o: Options): string[] {
  const cases = o.cases.filter((c) => c !== "llm-generate");
  const seqs = o.size === "tiny" ? [64, 128] : [512, 1024];
  const rows = ["| case | batch x seq | checkpointing | ms / step | peak RSS MB | buffers after forward MB | load |",
    "| --- | ---: | --- | ---: | ---: | ---: | ---: |"];
  console.log(`gradient-checkpointing sweep: ${o.size}, ${backendLabel()}, steps ${o.steps} after ${o.warmup} warm-up`);
  for (const c of cases) for (const seq of seqs) for (const on of [false, true]) {
    const load = r1(loadavg()[0]);
    const args = [...caseArgs({ ...o, seq }), ...oursArgs(o, on)];
    const r = runChildCase(here, c, args, o.threads) as LlmCaseResult;
    rows.push(`| ${c} | ${o.batch} x ${seq} | ${on ? "on" : "off"} | ${r.ms.toFixed(0)} | ${Math.round(r.peakRssMb)} | ` +
      `${Math.round(r.buffersAfterForwardMb!)} | ${load} |`);
    console.log(rows[rows.length - 1]);
  }
  console.log(`\n${rows.join("\n")}`);
  return rows;
}

export async function main(argv: string[]): Promise<unknown> {
  const o = parseArgs(argv);
  if (o.child) {
    const r = await runLlmCase(o.child, o);
    console.log(JSON.stringify(r));
    return r;
  }
  await prepareLlmCheckpoint(o.size);
  if (o.sweep) return checkpointSweep(o);
  const torch: TorchInfo | null = o.compareTorch ? torchInfo(anchor) : null;
  o.compareTorch = torch !== null;
  console.log(`llm bench: ${o.size} Llama, train batch ${o.batch} x seq ${o.seq}, generate ${o.prefill} + ${o.newTokens} tokens, ` +
    `steps ${o.steps} after ${o.warmup} warm-up${o.gradientCheckpointing ? ", gradient checkpointing" : ""}, frozen weights ${o.baseDtype}; ${backendLabel()}; ${cpus()[0]?.model ?? "cpu"}`);
  reportTorch(torch);
  const cases: Partial<Record<LlmCase, LlmCaseReport>> = {};
  for (const c of o.cases) {
    cases[c] = runOne(c, o);
    console.log(describe(c, cases[c]!));
  }
  const out = { cases, size: o.size, batch: o.batch, seq: o.seq, prefill: o.prefill, newTokens: o.newTokens, steps: o.steps, warmup: o.warmup,
    threads: o.threads, gradientCheckpointing: o.gradientCheckpointing, baseDtype: o.baseDtype };
  if (o.json) console.log(JSON.stringify(out));
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main(process.argv.slice(2));

// Training-step bench on a DistilBERT-base-sized classifier (random weights), case by case as the PyTorch
// comparison (bench/torch/train_bench.py, the same model and methods in PyTorch) runs them: inference, full, head, lora, prompt, prefix; and
// features (extractFeatures on real text, timed against the anchor's inference forward).
//   npm run bench -- train [--json] [--compare-torch] [--steps N] [--warmup N] [--batch N] [--seq N]
//                          [--cases a,b] [--dropout on|off] [--threads N] [--sweep] [--base-dtype bf16]
// Each case runs in its own child process (peak RSS per case); with --compare-torch the anchor runs the
// same case right after ours, so both see about the same machine load. --sweep times one case (full, or
// the first of --cases) over seq 64..512 and batch 1..32 against PyTorch and prints a markdown table.
// Every case loads the base model as users do, from one checkpoint written once to .cache/bench; --base-dtype bf16
// stores its frozen weights in bf16; GFLOP/s are then also given against the bf16 peak (npm run bench -- peak).
// FINETUNE_TORCH_PYTHON (default /usr/bin/python3) and FINETUNE_TORCH_ANCHOR override the anchor's paths.
// Without a python that imports torch, the comparison is skipped with one line and ours are timed alone.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import { cachedMachinePeak, ofPeak, type MachinePeak } from "../src/backend/peak.js";
import { PEAK_CACHE } from "./peak.js";
import { backendLabel, prepareCheckpoint, runCase, type CaseOptions, type CaseResult } from "./train-case.js";
import { CASES, TORCH_CASE, type CaseName } from "./train-flops.js";
import { oneOf, otherArgument } from "./usage.js";

interface Options extends CaseOptions {
  cases: CaseName[];
  json: boolean;
  compareTorch: boolean;
  sweep: boolean;
  threads: number;
  child: CaseName | null;
}

interface TorchResult { ms: number; minMs: number; peakRssMb: number }

export interface TrainCaseReport {
  ms: number;
  torchMs?: number;
  ratio?: number;
  /** The fastest step of each side and their ratio: less sensitive to other load on the machine. */
  minMs: number;
  torchMinMs?: number;
  minRatio?: number;
  gflops: number;
  gemmGflops: number;
  peakRssMb: number;
  torchPeakRssMb?: number;
  /** Forward-only cases (inference, features): sequences per second, the issue's throughput measure. */
  seqPerSec?: number;
  torchSeqPerSec?: number;
  load: number;
}

const here = fileURLToPath(import.meta.url);
const anchor = process.env.FINETUNE_TORCH_ANCHOR ??
  fileURLToPath(new URL("torch/train_bench.py", import.meta.url));
const python = process.env.FINETUNE_TORCH_PYTHON ?? "/usr/bin/python3";

function parseArgs(argv: string[]): Options {
  const o: Options = { batch: 8, seq: 128, steps: 5, warmup: 1, dropout: true, baseDtype: "fp32", cases: [...CASES], json: false,
    compareTorch: false, sweep: false, threads: 2, child: null };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split("=", 2);
    const value = () => inline ?? argv[++i];
    const num = () => {
      const v = Number(value());
      if (!Number.isInteger(v) || v < 0) throw new Error(`bench/train.ts: ${flag} needs a non-negative integer`);
      return v;
    };
    const caseName = (s: string) => {
      if (!CASES.includes(s as CaseName)) throw new Error(`bench/train.ts: unknown case "${s}"; cases: ${CASES.join(", ")}`);
      return s as CaseName;
    };
    if (flag === "--json") o.json = true;
    else if (flag === "--compare-torch") o.compareTorch = true;
    else if (flag === "--sweep") o.sweep = true;
    else if (flag === "--batch") o.batch = num();
    else if (flag === "--seq") o.seq = num();
    else if (flag === "--steps") o.steps = num();
    else if (flag === "--warmup") o.warmup = num();
    else if (flag === "--threads") o.threads = num();
    else if (flag === "--cases") o.cases = value().split(",").map(caseName);
    else if (flag === "--dropout") o.dropout = oneOf(flag, value(), ["on", "off"]) === "on";
    else if (flag === "--base-dtype") o.baseDtype = oneOf(flag, value(), ["fp32", "bf16"]);
    else if (flag === "--child") o.child = caseName(value());
    else otherArgument(import.meta.url, argv[i]);
  }
  return o;
}

function caseArgs(o: CaseOptions): string[] {
  return ["--batch", `${o.batch}`, "--seq", `${o.seq}`, "--steps", `${o.steps}`, "--warmup", `${o.warmup}`,
    "--dropout", o.dropout ? "on" : "off"];
}

/** The last line of a child's stdout that parses as JSON. */
export function lastJson(stdout: string, what: string): unknown {
  const lines = stdout.trim().split("\n").filter((l) => l.startsWith("{"));
  if (!lines.length) throw new Error(`${what} printed no JSON:\n${stdout}`);
  return JSON.parse(lines[lines.length - 1]);
}

function runChild(c: CaseName, o: Options): CaseResult {
  // PyTorch always runs fp32: the bf16 goals are ours-with-bf16 against its fp32 step.
  return runChildCase(here, c, [...caseArgs(o), "--base-dtype", o.baseDtype], o.threads) as CaseResult;
}

/** Runs `script --child c ...args` in a fresh node process (its maxRSS is this case's alone); its last JSON line. */
export function runChildCase(script: string, c: string, args: string[], threads: number): unknown {
  const r = spawnSync(process.execPath, [...process.execArgv, script, "--child", c, ...args], {
    encoding: "utf8", env: { ...process.env, FINETUNE_NUM_THREADS: `${threads}` }, maxBuffer: 1 << 26,
    stdio: ["ignore", "pipe", "inherit"],
  });
  if (r.status !== 0) throw new Error(`bench case ${c} failed (exit ${r.status})`);
  return lastJson(r.stdout, `bench case ${c}`);
}

export interface TorchInfo { torch: string; blas: string; reference_blas: boolean }

/** The anchor's torch and BLAS (its `--about`), or null, said in one line, when the python cannot import
 *  torch (the anchor exits 3 then): the bench goes on with our side alone. */
export function torchInfo(script = anchor): TorchInfo | null {
  if (!existsSync(script)) throw new Error(`no PyTorch anchor at ${anchor} (set FINETUNE_TORCH_ANCHOR)`);
  const r = spawnSync(python, [script, "--about"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (r.error || r.status === 3) {
    const why = r.error ? `cannot run ${python} (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})` : `${python} cannot import torch`;
    console.log(`bench: PyTorch not found: ${why} (apt-get install python3-torch libopenblas0, or pip install torch; ` +
      `FINETUNE_TORCH_PYTHON picks the python); timing finetune-ts alone`);
    return null;
  }
  if (r.status !== 0) throw new Error(`${anchor} --about failed (exit ${r.status}):\n${r.stderr}`);
  return lastJson(r.stdout, `${anchor} --about`) as TorchInfo;
}

export function reportTorch(t: TorchInfo | null): void {
  if (!t) return;
  console.log(`PyTorch ${t.torch}, BLAS ${t.blas}`);
  if (t.reference_blas) console.log("bench: PyTorch's GEMMs run on the reference BLAS, tens of times slower than OpenBLAS, " +
    "so its times mean little (apt-get install libopenblas0)");
}

// Runs the anchor in-process under a wrapper that adds the process's peak RSS as one more JSON line.
const TORCH_WRAPPER = "import json,resource,runpy,sys; sys.argv=sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__'); " +
  "print(json.dumps({'peakRssKb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))";

function runTorch(c: CaseName, o: Options): TorchResult {
  const { result, peakRssMb } = runAnchor(anchor, TORCH_CASE[c], ["--threads", `${o.threads}`, ...caseArgs(o)]);
  return { ms: result.median_s * 1000, minMs: result.min_s * 1000, peakRssMb };
}

/** One mode of a PyTorch anchor script in its own python process: the mode's result object and the peak RSS. */
export function runAnchor(script: string, mode: string, args: string[]): { result: { median_s: number; min_s: number } & Record<string, unknown>; peakRssMb: number } {
  const r = spawnSync(python, ["-c", TORCH_WRAPPER, script, "--modes", mode, ...args], {
    encoding: "utf8", maxBuffer: 1 << 26, stdio: ["ignore", "pipe", "inherit"],
  });
  if (r.status !== 0) throw new Error(`the PyTorch anchor failed on ${mode} (exit ${r.status}):\n${r.stdout}`);
  const lines = r.stdout.trim().split("\n").filter((l) => l.startsWith("{"));
  const bench = JSON.parse(lines[lines.length - 2]) as { results: Record<string, { median_s: number; min_s: number }> };
  const peak = JSON.parse(lines[lines.length - 1]) as { peakRssKb: number };
  return { result: bench.results[mode], peakRssMb: peak.peakRssKb / 1024 };
}

const r1 = (x: number) => Math.round(x * 10) / 10;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

const FORWARD_ONLY: CaseName[] = ["inference", "features"];

function runOne(c: CaseName, o: Options): TrainCaseReport {
  const load = loadavg()[0];
  const ours = runChild(c, o);
  const perSec = (ms: number) => (FORWARD_ONLY.includes(c) ? r1((1000 * o.batch) / ms) : undefined);
  const rep: TrainCaseReport = { ms: r1(ours.ms), minMs: r1(Math.min(...ours.times)), gflops: r1(ours.gflops),
    gemmGflops: r1(ours.gemmGflops), peakRssMb: Math.round(ours.peakRssMb), seqPerSec: perSec(ours.ms), load: r1(load) };
  if (o.compareTorch) {
    const t = runTorch(c, o);
    Object.assign(rep, { torchMs: r1(t.ms), ratio: r3(ours.ms / t.ms), torchMinMs: r1(t.minMs),
      minRatio: r3(Math.min(...ours.times) / t.minMs), torchPeakRssMb: Math.round(t.peakRssMb), torchSeqPerSec: perSec(t.ms) });
  }
  return rep;
}

let peak: MachinePeak | null = null;

function describe(c: string, r: TrainCaseReport): string {
  const torch = r.torchMs === undefined ? "" : `  torch ${r.torchMs.toFixed(1).padStart(8)} ms  ratio ${r.ratio!.toFixed(3)}` +
    ` (fastest steps ${r.minMs.toFixed(0)} / ${r.torchMinMs!.toFixed(0)} ms: ${r.minRatio!.toFixed(3)})`;
  const share = ` (${Math.round((100 * r.gflops) / r.gemmGflops)}% of GEMM ${r.gemmGflops})`;
  const rss = `peak ${r.peakRssMb} MB${r.torchPeakRssMb === undefined ? "" : ` (torch ${r.torchPeakRssMb})`}`;
  const seqs = r.seqPerSec === undefined ? "" : `  ${r.seqPerSec} seq/s${r.torchSeqPerSec === undefined ? "" : ` (torch ${r.torchSeqPerSec})`}`;
  const ofPeaks = ofPeak(r.gflops, peak?.fp32, "fp32") + ofPeak(r.gflops, peak?.bf16, "bf16");
  return `${c.padEnd(10)} ${r.ms.toFixed(1).padStart(8)} ms${torch}  ${r.gflops.toFixed(1)} GFLOP/s${ofPeaks}${share}  ${rss}${seqs}  load ${r.load}`;
}

function sweep(o: Options, torch: TorchInfo | null): void {
  const c = o.cases.length === CASES.length ? "full" : o.cases[0];
  const shapes = [[8, 64], [8, 128], [8, 256], [8, 512], [1, 128], [32, 128]];
  const rows = ["| batch | seq | ours ms | PyTorch ms | ratio | fastest-step ratio | load |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"];
  console.log(`sweep: ${c} step, ${backendLabel()}, steps ${o.steps} after ${o.warmup} warm-up`);
  reportTorch(torch);
  for (const [batch, seq] of shapes) {
    const r = runOne(c, { ...o, batch, seq });
    const cell = (x: number | undefined, digits: number) => (x === undefined ? "-" : x.toFixed(digits));
    rows.push(`| ${batch} | ${seq} | ${r.ms.toFixed(0)} | ${cell(r.torchMs, 0)} | ${cell(r.ratio, 2)} | ${cell(r.minRatio, 2)} | ${r.load} |`);
    console.log(rows[rows.length - 1]);
  }
  const what = c === "inference" ? "forward" : "step (forward + backward + AdamW)";
  console.log(`\n${c} ${what}, median ms, ratio = ours / PyTorch:\n\n${rows.join("\n")}`);
}

export async function main(argv: string[]): Promise<unknown> {
  const o = parseArgs(argv);
  if (o.child) {
    const r = await runCase(o.child, o);
    console.log(JSON.stringify(r));
    return r;
  }
  peak = await cachedMachinePeak(PEAK_CACHE);
  await prepareCheckpoint(o.dropout);
  const torch = o.compareTorch || o.sweep ? torchInfo() : null;
  o.compareTorch = torch !== null;
  if (o.sweep) return sweep(o, torch);
  console.log(`train bench: batch ${o.batch} x seq ${o.seq}, steps ${o.steps} after ${o.warmup} warm-up, dropout ` +
    `${o.dropout ? "on" : "off"}, frozen weights ${o.baseDtype}; ${backendLabel()}; ${cpus()[0]?.model ?? "cpu"}`);
  reportTorch(torch);
  const cases: Record<string, TrainCaseReport> = {};
  for (const c of o.cases) {
    cases[c] = runOne(c, o);
    console.log(describe(c, cases[c]));
  }
  const out = { cases, batch: o.batch, seq: o.seq, steps: o.steps, warmup: o.warmup, threads: o.threads, dropout: o.dropout,
    baseDtype: o.baseDtype, peak };
  if (o.json) console.log(JSON.stringify(out));
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main(process.argv.slice(2));

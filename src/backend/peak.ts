// The machine's arithmetic peak, measured by the native addon (native/peak.c): the yardstick that GFLOP/s figures
// are given against. The benches measure it once per run or read it from a cache keyed by CPU and thread count,
// since it takes about a second and does not change; `finetune doctor` measures it afresh.
import { readFileSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { dirname } from "node:path";
import { backend } from "./index.js";
import { measurePeak, nativeInfo, type PeakMeasure } from "./native.js";

export interface MachinePeak {
  cpu: string;
  threads: number;
  /** fp32 multiply-adds (FMA). */
  fp32: PeakMeasure;
  /** bf16 dot products (vdpbf16ps); null where the CPU lacks AVX512_BF16. */
  bf16: PeakMeasure | null;
  /** The micro-kernel products with bf16 weights run on here. */
  bf16Kernel: string;
}

/** Measures the peak on the native backend's threads; null on the TypeScript backend, which has no peak to speak of. */
export function measureMachinePeak(seconds = 0.3): MachinePeak | null {
  if (backend().name !== "native") return null;
  const fp32 = measurePeak("fp32", seconds)!;
  return { cpu: cpuName(), threads: backend().threads(), fp32, bf16: measurePeak("bf16", seconds), bf16Kernel: nativeInfo().bf16Kernel };
}

/** The CPU's model name, with its family and model numbers where Linux gives them: a virtual machine may report
 *  only "AMD EPYC" on hosts whose peaks differ twofold (Zen 4, family 25, runs a 512-bit operation in two halves;
 *  Zen 5, family 26, in one), and a peak cached under the bare name would be read on the other host. */
export function cpuName(): string {
  const name = cpus()[0]?.model ?? "unknown";
  let info = "";
  try {
    info = readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return name;
  }
  const field = (key: string) => new RegExp(`^${key}\\s*:\\s*(\\S+)`, "m").exec(info)?.[1];
  const family = field("cpu family"), model = field("model");
  return family && model ? `${name} (family ${family}, model ${model})` : name;
}

/** The peak from `file` when it was measured on this CPU (cpuName) with this thread count, else measured and stored. */
export async function cachedMachinePeak(file: string): Promise<MachinePeak | null> {
  if (backend().name !== "native") return null;
  const cached = (await readCache(file))[cacheKey(cpuName(), backend().threads())];
  if (cached) return cached;
  const peak = measureMachinePeak(1)!;
  await storePeak(file, peak);
  return peak;
}

const cacheKey = (cpu: string, threads: number) => `${cpu} / ${threads} threads`;

function readCache(file: string): Promise<Record<string, MachinePeak>> {
  return readFile(file, "utf8").then((t) => JSON.parse(t) as Record<string, MachinePeak>, () => ({}));
}

/** Adds (or replaces) `peak` in the cache file under its CPU and thread count. */
export async function storePeak(file: string, peak: MachinePeak): Promise<void> {
  const cache = await readCache(file);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify({ ...cache, [cacheKey(peak.cpu, peak.threads)]: peak }, null, 2));
}

/** " (57% of fp32 peak)": a rate as a share of a peak, or nothing without one. */
export function ofPeak(gflops: number, peak: PeakMeasure | null | undefined, label: string): string {
  return peak ? ` (${Math.round((100 * gflops) / peak.gflops)}% of ${label} peak)` : "";
}

/** One line: "fp32 380 GFLOP/s (avx512 fma), bf16 740 GFLOP/s (avx512bf16 vdpbf16ps), 2 threads". */
export function describePeak(p: MachinePeak): string {
  const bf16 = p.bf16 ? `bf16 ${p.bf16.gflops.toFixed(0)} GFLOP/s (${p.bf16.isa})` : "bf16: no AVX512_BF16";
  return `fp32 ${p.fp32.gflops.toFixed(0)} GFLOP/s (${p.fp32.isa}), ${bf16}, ${p.threads} thread${p.threads === 1 ? "" : "s"}`;
}

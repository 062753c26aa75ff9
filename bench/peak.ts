// The machine's arithmetic peak: fp32 multiply-adds (FMA) and bf16 dot products (vdpbf16ps) on every thread of the
// addon's pool, in a native loop with 16 independent accumulators (native/peak.c). The other suites give their
// GFLOP/s as a share of it, reading .cache/peak.json, which this suite rewrites.
//   npm run bench -- peak [--json] [--seconds S] [--threads N]
import { fileURLToPath, pathToFileURL } from "node:url";
import { backend } from "../src/backend/index.js";
import { describePeak, measureMachinePeak, storePeak, type MachinePeak } from "../src/backend/peak.js";
import { otherArgument } from "./usage.js";

export const PEAK_CACHE = fileURLToPath(new URL("../.cache/peak.json", import.meta.url));

export async function main(argv: string[]): Promise<MachinePeak | null> {
  let json = false, seconds = 1;
  for (let i = 0; i < argv.length; i++) {
    const [flag, value] = argv[i].split("=", 2);
    if (flag === "--json") json = true;
    else if (flag === "--seconds") seconds = Number(value ?? argv[++i]);
    else if (flag === "--threads") backend().setThreads(Number(value ?? argv[++i]));
    else otherArgument(import.meta.url, argv[i]);
  }
  const peak = measureMachinePeak(seconds);
  if (!peak) console.log("peak: the native backend is not loaded; nothing to measure");
  else {
    await storePeak(PEAK_CACHE, peak);
    console.log(json ? JSON.stringify(peak) : `peak on ${peak.cpu}: ${describePeak(peak)} (stored in ${PEAK_CACHE})`);
  }
  return peak;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main(process.argv.slice(2));

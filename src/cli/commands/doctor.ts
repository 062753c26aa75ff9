import os from "node:os";
import { parseArgs } from "node:util";
import { backend, nativeBackendError } from "../../backend/index.js";
import type { Command } from "../command.js";

export interface DoctorReport {
  backend: string;
  blas: string;
  threads: number;
  nativeError: string | null;
  node: string;
  platform: string;
  cpu: string;
  cores: number;
  memoryGiB: number;
}

export function doctorReport(): DoctorReport {
  const b = backend();
  return {
    backend: b.name,
    blas: b.blas,
    threads: b.threads(),
    nativeError: nativeBackendError(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  };
}

export const doctor: Command = {
  name: "doctor",
  summary: "show the compute backend, BLAS library, threads and platform",
  help: `Usage: finetune doctor [--json]

Prints what finetune-ts computes with: the backend (native addon or TypeScript fallback), the BLAS
library the addon found at run time, the thread count (FINETUNE_NUM_THREADS overrides it), Node and
the platform.

Examples:
  finetune doctor
  FINETUNE_NUM_THREADS=1 finetune doctor --json`,
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { json: { type: "boolean" } } });
    const r = doctorReport();
    if (values.json) { console.log(JSON.stringify(r)); return; }
    console.log(`backend   ${r.backend}${r.nativeError ? ` (native unavailable: ${r.nativeError})` : ""}`);
    console.log(`blas      ${r.blas}`);
    console.log(`threads   ${r.threads}`);
    console.log(`node      ${r.node}`);
    console.log(`platform  ${r.platform}, ${r.cpu}, ${r.cores} cores, ${r.memoryGiB} GiB`);
  },
};

import os from "node:os";
import { backend, nativeBackendError } from "../../backend/index.js";
import { describePeak, measureMachinePeak, type MachinePeak } from "../../backend/peak.js";
import { estimateParameterCount, familyForConfig, type ModelFamily, type PeftTargets } from "../../models/index.js";
import { readConfigJson } from "../../models/loading.js";
import { formatCount } from "../../report/format.js";
import { booleanFlag, flagHelp, parseFlags } from "../args.js";
import type { Command } from "../command.js";
import { hubOptions, modelFlags } from "../flags.js";
import type { Task } from "../methods.js";
import { defaultTask, modelRef, type ModelSource } from "../pipeline/sources.js";

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
  /** The arithmetic peak measured now (null on the TypeScript backend). */
  peak: MachinePeak | null;
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
    peak: measureMachinePeak(),
  };
}

/** What a checkpoint is, from its config.json alone (no weights are read). */
export interface ModelReport {
  model: string;
  family: string;
  modelType: string;
  kind: ModelFamily["kind"];
  /** Estimated from the config, with the largest head. */
  parameters: number;
  layers: number;
  hiddenSize: number;
  heads: number;
  vocabSize: number;
  maxPositions: number;
  tasks: Task[];
  defaultTask: Task;
  pretraining: "masked LM" | "next token" | null;
  /** Module paths inside the base model: last-layers trains the last blocks, then `top`, then the head. */
  lastLayers: { blocks: string; top: string[] };
  targets: PeftTargets;
}

export async function modelReport(source: ModelSource): Promise<ModelReport> {
  const { raw, file } = await readConfigJson(source.ref, source.hub);
  const family = familyForConfig(raw, file);
  const { base, seqCls, causalLm, maskedLm } = family.classes;
  const shape = base.modelShape(base.parseConfig(raw, file));
  const modelType = String(raw.model_type);
  return {
    model: source.ref, family: family.name, modelType, kind: family.kind, parameters: estimateParameterCount(shape).total,
    layers: shape.numLayers, hiddenSize: shape.hiddenSize, heads: shape.numHeads, vocabSize: shape.vocabSize, maxPositions: shape.maxPositions,
    tasks: [...(seqCls ? ["seq-cls" as const] : []), ...(causalLm ? ["causal-lm" as const] : [])],
    defaultTask: defaultTask(raw, family),
    pretraining: maskedLm ? "masked LM" : causalLm ? "next token" : null,
    lastLayers: { blocks: family.layout.blocks, top: family.layout.top },
    targets: family.peftTargets[modelType],
  };
}

function printModelReport(r: ModelReport): void {
  const list = (names: string[]) => names.join(", ");
  const { lora, ia3, ia3Feedforward, adapter } = r.targets;
  const rows: [string, string][] = [
    ["model", r.model],
    ["family", `${r.family} (model_type ${r.modelType}, ${r.kind})`],
    ["size", `about ${formatCount(r.parameters)} parameters: ${r.layers} layer${r.layers === 1 ? "" : "s"}, hidden ${r.hiddenSize}, ${r.heads} heads, ` +
      `vocabulary ${r.vocabSize}, ${r.maxPositions} positions`],
    ["tasks", `${list(r.tasks)} (default ${r.defaultTask})${r.pretraining ? `; pretrain: ${r.pretraining}` : ""}`],
    ["last-layers", `the last blocks of ${r.lastLayers.blocks}${r.lastLayers.top.length ? `, then ${list(r.lastLayers.top)}` : ""}, and the head`],
    ["lora", list(lora)],
    ["ia3", `${list(ia3)} (input scaled: ${list(ia3Feedforward)})`],
    ["adapter", `${adapter.attention} and ${adapter.ffn} of every block`],
  ];
  for (const [k, v] of rows) console.log(`${k.padEnd(12)}${v}`);
}

const flags = {
  model: modelFlags.model,
  revision: modelFlags.revision,
  cacheDir: modelFlags.cacheDir,
  json: booleanFlag("print JSON"),
};

export const doctor: Command = {
  name: "doctor",
  summary: "show the compute backend, BLAS library, threads and platform, or what a model checkpoint is",
  help: `Usage: finetune doctor [--json]
       finetune doctor --model ID|DIR [--json]

Prints what finetune-ts computes with: the backend (native addon or TypeScript fallback), the BLAS
library the addon found at run time, the thread count (FINETUNE_NUM_THREADS overrides it), the
machine's fp32 and bf16 multiply-add peak measured now on those threads (other load lowers it), the
kernel of products with bf16 weights (--base-dtype bf16; FINETUNE_BF16_GEMM picks another), Node and
the platform.

With --model, prints what a checkpoint is, from its config.json: its model family and model_type, its
size, the tasks it can train for, and what each method adapts by default (the blocks last-layers
trains, the LoRA and IA3 target modules, where bottleneck adapters go). A model_type finetune-ts does
not support is an error that lists the supported ones.

Options:
${flagHelp(flags)}

Examples:
  finetune doctor
  FINETUNE_NUM_THREADS=1 finetune doctor --json
  finetune doctor --model bundled
  finetune doctor --model Qwen/Qwen2.5-0.5B`,
  async run(argv) {
    const { values: v } = parseFlags(argv, flags);
    if (v.model !== undefined) {
      const r = await modelReport({ ref: await modelRef(v.model), hub: hubOptions(v) });
      if (v.json) console.log(JSON.stringify(r));
      else printModelReport(r);
      return;
    }
    const r = doctorReport();
    if (v.json) { console.log(JSON.stringify(r)); return; }
    console.log(`backend   ${r.backend}${r.nativeError ? ` (native unavailable: ${r.nativeError})` : ""}`);
    console.log(`blas      ${r.blas}`);
    console.log(`threads   ${r.threads}`);
    if (r.peak) console.log(`peak      ${describePeak(r.peak)}`);
    if (r.peak) console.log(`bf16 gemm ${r.peak.bf16Kernel}`);
    console.log(`node      ${r.node}`);
    console.log(`platform  ${r.platform}, ${r.cpu}, ${r.cores} cores, ${r.memoryGiB} GiB`);
  },
};

// `finetune compare`: every method fine-tuned from the same pretrained weights on the same data and budget,
// measured (time, parameters, artifact size, memory, test scores), and written up as report.json,
// report.md, chart.svg and chart.png. The report is rewritten after every method, so a comparison that
// stops part-way (Ctrl-C, a crash) keeps what it measured and `resume` continues it: finished methods are
// kept, the interrupted one continues from the checkpoint Ctrl-C saved (or starts again after a crash).
import { createHash } from "node:crypto";
import { mkdir, readFile, rm } from "node:fs/promises";
import { exists } from "../../io/exists.js";
import { join } from "node:path";
import { Interrupted, UsageError } from "../command.js";
import { doctorReport } from "../commands/doctor.js";
import { methodInfo, type MethodName } from "../methods.js";
import type { ClassificationData } from "./data.js";
import { CHECKPOINTS, runFineTune, type RunInput } from "./fine-tune.js";
import { writeFileAtomic, writeJsonAtomic } from "../../io/atomic.js";
import { chartSvg } from "../../report/chart-svg.js";
import { formatScore, formatSeconds } from "../../report/format.js";
import { renderPng } from "../../report/png.js";
import { reportMarkdown } from "../../report/report-md.js";
import { PeakRss, settleMemory } from "../../report/rss.js";
import { REPORT_FORMAT, type ComparisonReport } from "../../report/types.js";
import type { LearningRate } from "../../train/lr-finder.js";

export interface ComparisonInput extends Omit<RunInput, "method" | "output" | "interactive" | "resume" | "data"> {
  data: { task: "seq-cls" } & ClassificationData;
  methods: MethodName[];
  /** Learning rates (or "auto") for some methods, over hp.lr and the method's default. */
  methodLr?: Partial<Record<MethodName, LearningRate>>;
  output: string;
  /** Continue the comparison whose report.json is in `output` (it must have been made with the same settings). */
  resume?: boolean;
}

export const REPORT_FILES = { json: "report.json", md: "report.md", svg: "chart.svg", png: "chart.png" };

export async function runComparison(input: ComparisonInput): Promise<ComparisonReport> {
  const { data, output } = input;
  if (!data.splits.test?.length) throw new Error("compare scores methods on a test split: give --test (or --data, which makes one)");
  const report = newReport(input);
  const earlier = input.resume ? await earlierReport(output, report) : null;
  if (!input.resume) for (const m of input.methods) await rm(join(output, m, CHECKPOINTS), { recursive: true, force: true });
  for (const [i, method] of input.methods.entries()) {
    const tag = `[${i + 1}/${input.methods.length}] ${methodInfo(method).label}`;
    const kept = earlier?.methods.find((e) => e.method === method);
    if (kept) {
      report.methods.push(kept);
      input.log(`${tag}: kept from the earlier run (test accuracy ${formatScore(kept.testAccuracy)})`);
    } else {
      await runMethod(input, method, tag, report);
    }
    report.pending = input.methods.slice(i + 1);
    await writeReport(output, report);
  }
  return report;
}

/** Trains one method into the report: an entry, or a failure; an interruption writes the report and ends the comparison. */
async function runMethod(input: ComparisonInput, method: MethodName, tag: string, report: ComparisonReport): Promise<void> {
  const dir = join(input.output, method);
  const resume = input.resume === true && (await exists(join(dir, CHECKPOINTS, "last")));
  input.log(`${tag}: ${resume ? "continuing from its checkpoint" : "training"}`);
  settleMemory();
  const rss = new PeakRss();
  try {
    const r = await runFineTune({ ...input, hp: { ...input.hp, lr: input.methodLr?.[method] ?? input.hp.lr }, method, output: dir, resume, interactive: false, log: (l) => input.log(`${tag}: ${l}`) });
    const peakRssBytes = rss.stop();
    report.methods.push({
      method, label: methodInfo(method).label, category: methodInfo(method).category,
      trainSeconds: r.trainSeconds, extractSeconds: r.extractSeconds, steps: r.steps, lr: r.lr, lrFind: r.lrFind,
      trainableParams: r.params.trainable, totalParams: r.params.all, artifactBytes: r.artifactBytes!, peakRssBytes,
      testAccuracy: r.test!.acc, testMacroF1: r.test!.f1, testLoss: r.test!.loss,
      validationAccuracy: r.validation?.acc ?? null, validationMacroF1: r.validation?.f1 ?? null,
      output: method,
    });
    // The method is done: its interruption checkpoint (for full fine-tuning, the whole model and Adam's moments) is not needed.
    await rm(join(dir, CHECKPOINTS), { recursive: true, force: true });
    input.log(`${tag}: test accuracy ${formatScore(r.test!.acc)}, macro-F1 ${formatScore(r.test!.f1)}, trained in ${formatSeconds(r.trainSeconds)}`);
  } catch (e) {
    rss.stop();
    if (e instanceof Interrupted) {
      report.pending = input.methods.slice(input.methods.indexOf(method));
      await writeReport(input.output, report);
      input.log(`${tag}: interrupted; ${join(input.output, REPORT_FILES.json)} holds the ${report.methods.length} method(s) that finished`);
      throw e;
    }
    const error = (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, " ");
    report.failed.push({ method, label: methodInfo(method).label, error });
    input.log(`${tag}: failed: ${error}`);
  }
}

function newReport(input: ComparisonInput): ComparisonReport {
  const { data, hp } = input;
  const env = doctorReport();
  return {
    format: REPORT_FORMAT,
    createdAt: new Date().toISOString(),
    model: input.source.ref,
    labels: data.labels.names,
    rows: { train: data.splits.train?.length ?? 0, validation: data.splits.validation?.length ?? 0, test: data.splits.test!.length },
    dataSha256: dataDigest(data),
    budget: {
      epochs: hp.epochs ?? null, maxSteps: hp.maxSteps ?? null, batchSize: hp.batchSize, maxLength: hp.maxLength, seed: hp.seed, lr: hp.lr ?? null,
      weightDecay: hp.weightDecay, warmupRatio: hp.warmupRatio, gradAccum: hp.gradAccum, clip: hp.clip ?? null,
    },
    methodOptions: { ...input.methodOptions },
    methodLr: { ...input.methodLr },
    environment: { node: env.node, platform: env.platform, cpu: env.cpu, cores: env.cores, backend: env.backend, threads: env.threads },
    methods: [],
    failed: [],
    pending: [...input.methods],
    chart: { svg: REPORT_FILES.svg, png: REPORT_FILES.png, xScale: "linear", pngFont: null, pngHasText: false },
  };
}

/** One digest of every split's texts and labels, so a resumed comparison provably runs on the same data. */
function dataDigest(data: ClassificationData): string {
  const hash = createHash("sha256");
  for (const [name, rows] of Object.entries(data.splits)) {
    hash.update(`${name}\n`);
    for (const r of rows ?? []) hash.update(`${JSON.stringify([r.text, r.textPair ?? null, r.label])}\n`);
  }
  return hash.digest("hex");
}

/** What the interrupted comparison in `dir` finished, after checking that it measured the same thing as `now` would. */
async function earlierReport(dir: string, now: ComparisonReport): Promise<ComparisonReport> {
  const file = join(dir, REPORT_FILES.json);
  const text = await readFile(file, "utf8").catch(() => null);
  if (text === null) throw new UsageError(`--resume: no ${file} to continue (run without --resume to start the comparison)`);
  let before: ComparisonReport;
  try {
    before = JSON.parse(text) as ComparisonReport;
  } catch (e) {
    throw new UsageError(`--resume: ${file} is not valid JSON (${(e as Error).message})`);
  }
  if (before?.format !== REPORT_FORMAT) throw new UsageError(`--resume: ${file} has report format ${before?.format}, this finetune-ts writes ${REPORT_FORMAT}; start afresh without --resume`);
  // Times and scores measured under other settings, on other data or on another machine set-up would not be comparable.
  const same = (path: string, a: unknown, b: unknown) => {
    if (JSON.stringify(a) !== JSON.stringify(b)) {
      throw new UsageError(`--resume: ${file} was made with ${path} ${JSON.stringify(a)}, this run has ${JSON.stringify(b)}; give the same flags, or another --output to start afresh`);
    }
  };
  same("model", before.model, now.model);
  same("labels", before.labels, now.labels);
  same("rows", before.rows, now.rows);
  same("data (sha256 of every split)", before.dataSha256, now.dataSha256);
  for (const k of Object.keys(now.budget) as (keyof ComparisonReport["budget"])[]) same(`budget.${k}`, before.budget?.[k], now.budget[k]);
  same("method options", before.methodOptions, now.methodOptions);
  same("method learning rates", before.methodLr, now.methodLr);
  for (const k of ["backend", "threads", "cpu"] as const) same(`environment.${k}`, before.environment?.[k], now.environment[k]);
  return before;
}


/** Writes report.json, report.md and the chart; the chart fields of `report` are filled in on the way. */
export async function writeReport(dir: string, report: ComparisonReport): Promise<void> {
  await mkdir(dir, { recursive: true });
  if (report.methods.length) {
    const points = report.methods.map((e) => ({ label: e.label, category: e.category, seconds: e.trainSeconds, accuracy: e.testAccuracy, trainableParams: e.trainableParams }));
    const budget = report.budget.maxSteps !== null ? `${report.budget.maxSteps} steps` : `${report.budget.epochs} epochs`;
    const chart = chartSvg(points, "Test accuracy against training time", `${report.model} · ${report.rows.train} training rows · ${budget} per method · ${report.rows.test} test rows`);
    const png = renderPng(chart.svg);
    await writeFileAtomic(join(dir, REPORT_FILES.svg), chart.svg);
    await writeFileAtomic(join(dir, REPORT_FILES.png), png.png);
    report.chart = { ...report.chart, xScale: chart.xScale, pngFont: png.fontFile, pngHasText: png.hasText };
  }
  await writeJsonAtomic(join(dir, REPORT_FILES.json), report);
  await writeFileAtomic(join(dir, REPORT_FILES.md), reportMarkdown(report));
}

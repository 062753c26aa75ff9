// `finetune compare`: every method fine-tuned from the same pretrained weights on the same data and budget,
// measured (time, parameters, artifact size, memory, test scores), and written up as report.json,
// report.md, chart.svg and chart.png.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { doctorReport } from "../cli/commands/doctor.js";
import { METHOD_INFO, type MethodName } from "../cli/methods.js";
import type { ClassificationData } from "../cli/pipeline/data.js";
import { runFineTune, type RunInput } from "../cli/pipeline/fine-tune.js";
import { writeJsonAtomic } from "../io/atomic.js";
import { chartSvg } from "./chart-svg.js";
import { formatScore, formatSeconds } from "./format.js";
import { renderPng } from "./png.js";
import { reportMarkdown } from "./report-md.js";
import { PeakRss } from "./rss.js";
import type { ComparisonReport, FailedMethod, MethodEntry } from "./types.js";

export interface ComparisonInput extends Omit<RunInput, "method" | "output" | "interactive" | "resume" | "data"> {
  data: { task: "seq-cls" } & ClassificationData;
  methods: MethodName[];
  /** Learning rates for some methods, over hp.lr and the method's usual one. */
  methodLr?: Partial<Record<MethodName, number>>;
  output: string;
}

export const REPORT_FILES = { json: "report.json", md: "report.md", svg: "chart.svg", png: "chart.png" };

export async function runComparison(input: ComparisonInput): Promise<ComparisonReport> {
  const { data, hp } = input;
  if (!data.splits.test?.length) throw new Error("compare scores methods on a test split: give --test (or --data, which makes one)");
  const methods: MethodEntry[] = [], failed: FailedMethod[] = [];
  for (const [i, method] of input.methods.entries()) {
    const tag = `[${i + 1}/${input.methods.length}] ${METHOD_INFO[method].label}`;
    input.log(`${tag}: training`);
    const rss = new PeakRss();
    const hpOfMethod = { ...hp, lr: input.methodLr?.[method] ?? hp.lr };
    try {
      const r = await runFineTune({ ...input, hp: hpOfMethod, method, output: join(input.output, method), interactive: false, log: (l) => input.log(`${tag}: ${l}`) });
      const peakRssBytes = rss.stop();
      methods.push({
        method, label: METHOD_INFO[method].label, family: METHOD_INFO[method].family,
        trainSeconds: r.trainSeconds, extractSeconds: r.extractSeconds, steps: r.steps,
        lr: method === "feature" ? null : (hpOfMethod.lr ?? METHOD_INFO[method].defaultLr),
        trainableParams: r.params.trainable, totalParams: r.params.all, artifactBytes: r.artifactBytes!, peakRssBytes,
        testAccuracy: r.test!.acc, testMacroF1: r.test!.f1, testLoss: r.test!.loss,
        validationAccuracy: r.validation?.acc ?? null, validationMacroF1: r.validation?.f1 ?? null,
        output: method,
      });
      input.log(`${tag}: test accuracy ${formatScore(r.test!.acc)}, macro-F1 ${formatScore(r.test!.f1)}, trained in ${formatSeconds(r.trainSeconds)}`);
    } catch (e) {
      rss.stop();
      const error = (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, " ");
      failed.push({ method, label: METHOD_INFO[method].label, error });
      input.log(`${tag}: failed: ${error}`);
    }
  }
  const env = doctorReport();
  const report: ComparisonReport = {
    format: 1,
    createdAt: new Date().toISOString(),
    model: input.source.ref,
    labels: data.labels.names,
    rows: { train: data.splits.train?.length ?? 0, validation: data.splits.validation?.length ?? 0, test: data.splits.test.length },
    budget: { epochs: hp.epochs ?? null, maxSteps: hp.maxSteps ?? null, batchSize: hp.batchSize, maxLength: hp.maxLength, seed: hp.seed, lr: hp.lr ?? null },
    environment: { node: env.node, platform: env.platform, cpu: env.cpu, cores: env.cores, backend: env.backend, threads: env.threads },
    methods,
    failed,
    chart: { svg: REPORT_FILES.svg, png: REPORT_FILES.png, xScale: "linear", pngFont: null, pngHasText: false },
  };
  await writeReport(input.output, report);
  return report;
}

/** Writes report.json, report.md and the chart; the chart fields of `report` are filled in on the way. */
export async function writeReport(dir: string, report: ComparisonReport): Promise<void> {
  await mkdir(dir, { recursive: true });
  if (report.methods.length) {
    const points = report.methods.map((e) => ({ label: e.label, family: e.family, seconds: e.trainSeconds, accuracy: e.testAccuracy, trainableParams: e.trainableParams }));
    const budget = report.budget.maxSteps !== null ? `${report.budget.maxSteps} steps` : `${report.budget.epochs} epochs`;
    const chart = chartSvg(points, "Test accuracy against training time", `${report.model} · ${report.rows.train} training rows · ${budget} per method · ${report.rows.test} test rows`);
    const png = renderPng(chart.svg);
    await writeFile(join(dir, REPORT_FILES.svg), chart.svg);
    await writeFile(join(dir, REPORT_FILES.png), png.png);
    report.chart = { ...report.chart, xScale: chart.xScale, pngFont: png.fontFile, pngHasText: png.hasText };
  }
  await writeJsonAtomic(join(dir, REPORT_FILES.json), report);
  await writeFile(join(dir, REPORT_FILES.md), reportMarkdown(report));
}

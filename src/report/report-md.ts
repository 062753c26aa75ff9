// report.md: the comparison table (the same cells as the table printed on stdout) and a short reading of
// it, written from the numbers so it never contradicts them.
import { formatBytes, formatInteger, formatLr, formatPercent, formatScore, formatSeconds } from "./format.js";
import type { ComparisonReport, MethodEntry } from "./types.js";

const COLUMNS: [string, (e: MethodEntry) => string][] = [
  ["Method", (e) => e.label],
  ["Category", (e) => e.category],
  ["LR", (e) => (e.lr === null ? "-" : `${formatLr(e.lr)}${e.lrFind ? " (auto)" : ""}`)],
  ["Trainable params", (e) => formatInteger(e.trainableParams)],
  ["Trainable %", (e) => formatPercent(e.trainableParams, e.totalParams)],
  ["Train time", (e) => formatSeconds(e.trainSeconds)],
  ["Test accuracy", (e) => formatScore(e.testAccuracy)],
  ["Test macro-F1", (e) => formatScore(e.testMacroF1)],
  ["Artifact", (e) => formatBytes(e.artifactBytes)],
  ["Peak RSS", (e) => formatBytes(e.peakRssBytes)],
];

export function tableHeader(): string[] {
  return COLUMNS.map(([h]) => h);
}

export function tableRow(e: MethodEntry): string[] {
  return COLUMNS.map(([, cell]) => cell(e));
}

export function reportMarkdown(r: ComparisonReport): string {
  const budget = r.budget.maxSteps !== null ? `${r.budget.maxSteps} optimizer steps` : `${r.budget.epochs} epochs`;
  const lines = [
    `# Fine-tuning methods compared on ${r.model}`,
    "",
    `${r.methods.length} methods fine-tuned \`${r.model}\` on ${r.rows.train} training rows (labels: ${r.labels.join(", ")}), each starting ` +
      `from the same pretrained weights with the same budget: ${budget}, batch size ${r.budget.batchSize}, texts cut to ` +
      `${r.budget.maxLength} tokens, seed ${r.budget.seed}, ${learningRates(r)}. ` +
      `Scores are on ${r.rows.test} test rows. Measured on ${r.environment.cpu} (${r.environment.threads} threads, ${r.environment.backend} backend), ` +
      `Node ${r.environment.node}, ${r.createdAt}.`,
    "",
    `| ${tableHeader().join(" | ")} |`,
    `| ${COLUMNS.map((_, i) => (i < 2 ? "---" : "---:")).join(" | ")} |`,
    ...r.methods.map((e) => `| ${tableRow(e).join(" | ")} |`),
    "",
    ...(r.failed.length ? ["Failed:", "", ...r.failed.map((f) => `- ${f.label}: ${f.error}`), ""] : []),
    ...(r.pending.length ? [`Not run yet, as the comparison was interrupted (the same command with \`--resume\` continues it): ${r.pending.join(", ")}.`, ""] : []),
    `![Test accuracy against training time](${r.chart.png})`,
    "",
    `Training time is wall-clock time of the training loop (for feature-based: running the frozen model over the training ` +
      `texts plus fitting the classifier). Artifact is what the method has to ship: the whole model for head-only, last-layers ` +
      `and full fine-tuning, the adapter for PEFT methods, the classifier file for feature-based (which also needs the base model). ` +
      `Peak RSS is the whole process's resident memory while the method ran, from a process settled before it started ` +
      `(the methods before it leave nothing resident); it includes the up to 1 GB of freed buffers finetune-ts keeps for ` +
      `reuse between steps.`,
    "",
    "## Reading",
    "",
    ...reading(r).map((s) => `- ${s}`),
    "",
  ];
  if (!r.chart.pngHasText) lines.push(`> Warning: no font was found when rendering ${r.chart.png}, so it has no text; ${r.chart.svg} is complete.`, "");
  return lines.join("\n");
}

function learningRates(r: ComparisonReport): string {
  const lr = r.budget.lr;
  const all = lr === null ? "each method's default learning rate for the model" : lr === "auto" ? "learning rates found by a range test" : `learning rate ${lr}`;
  const own = Object.entries(r.methodLr).map(([m, v]) => `${m} ${v}`);
  const auto = r.methods.some((e) => e.lrFind) ? "; auto: found by a range test, whose time is not in the training time" : "";
  return `${all}${own.length ? ` (${own.join(", ")} by --method-lr)` : ""} (the LR column${auto})`;
}

function reading(r: ComparisonReport): string[] {
  const m = r.methods;
  if (m.length === 0) return ["No method finished, so there is nothing to compare."];
  const by = <K extends keyof MethodEntry>(k: K, dir: 1 | -1) => [...m].sort((a, b) => dir * ((a[k] as number) - (b[k] as number)))[0];
  const best = by("testAccuracy", -1), fastest = by("trainSeconds", 1), smallest = by("artifactBytes", 1), largest = by("artifactBytes", -1);
  const out = [
    `Highest test accuracy: ${best.label} (${formatScore(best.testAccuracy)}, macro-F1 ${formatScore(best.testMacroF1)}), trained in ${formatSeconds(best.trainSeconds)} ` +
      `with ${formatInteger(best.trainableParams)} trainable parameters.`,
    `Fastest to train: ${fastest.label} (${formatSeconds(fastest.trainSeconds)}, test accuracy ${formatScore(fastest.testAccuracy)}).`,
    `Smallest artifact: ${smallest.label} (${formatBytes(smallest.artifactBytes)}), against ${formatBytes(largest.artifactBytes)} for ${largest.label}.`,
  ];
  const full = m.find((e) => e.method === "full");
  const peft = m.filter((e) => e.category === "parameter-efficient").sort((a, b) => b.testAccuracy - a.testAccuracy)[0];
  if (full && peft) {
    const gap = peft.testAccuracy - full.testAccuracy;
    out.push(`The best parameter-efficient method, ${peft.label}, ${gap >= 0 ? "matched or beat" : "came within"} full fine-tuning ` +
      `(${gap >= 0 ? "+" : ""}${gap.toFixed(4)} accuracy) while training ${formatPercent(peft.trainableParams, full.trainableParams)} as many ` +
      `parameters in ${(peft.trainSeconds / full.trainSeconds).toFixed(2)}× the time.`);
  }
  const feature = m.find((e) => e.method === "feature");
  if (feature?.extractSeconds != null) {
    out.push(`Feature-based spent ${formatSeconds(feature.extractSeconds)} of its ${formatSeconds(feature.trainSeconds)} running the frozen model; ` +
      `its classifier alone has ${formatInteger(feature.trainableParams)} parameters.`);
  }
  // The binomial standard error of an accuracy near 0.5, the worst case.
  const se = 0.5 / Math.sqrt(Math.max(r.rows.test, 1));
  out.push(`One run per method on ${r.rows.test} test rows: accuracies closer than about ${(2 * se).toFixed(3)} (two standard errors) ` +
    `are not reliably different, and a larger budget can reorder methods that are still learning.`);
  return out;
}

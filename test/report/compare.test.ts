// `finetune compare` end to end on real data: a tiny random DistilBERT (bert-base-uncased vocabulary and
// tokenizer) fine-tuned with every method on a few hundred UCI sentiment sentences, then the report's
// files checked against each other.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Resvg } from "@resvg/resvg-js";
import { methodInfo, methodNames } from "../../src/cli/methods.js";
import type { ComparisonReport } from "../../src/report/types.js";
import { UCI, cli, removeTempDirs, tempDir, tinyDistilBertDir } from "../cli/tiny-models.js";

after(removeTempDirs);

let out: string, stdout: string, report: ComparisonReport;

before(async () => {
  const model = await tinyDistilBertDir();
  out = join(await tempDir("finetune-compare-"), "report");
  const r = await cli([
    "compare", "--model", model, "--train", join(UCI, "train.jsonl"), "--validation", join(UCI, "validation.jsonl"), "--test", join(UCI, "test.jsonl"),
    "--max-rows", "160", "--max-steps", "6", "--batch-size", "16", "--max-length", "32", "--num-virtual-tokens", "4", "--ia3",
    "--method-lr", "full=3e-4,lora=2e-3", "--output", out,
  ]);
  assert.equal(r.code, 0, r.stderr);
  stdout = r.stdout;
  report = JSON.parse(await readFile(join(out, "report.json"), "utf8"));
});

test("report.json has one entry per method, every number finite and sensible", () => {
  assert.deepEqual(report.methods.map((e) => e.method).sort(), methodNames().sort());
  assert.deepEqual(report.failed, []);
  assert.deepEqual(report.rows, { train: 160, validation: 160, test: 160 });
  for (const e of report.methods) {
    for (const k of ["trainSeconds", "trainableParams", "totalParams", "artifactBytes", "peakRssBytes", "testAccuracy", "testMacroF1", "testLoss"] as const) {
      assert.ok(Number.isFinite(e[k]) && e[k] > 0, `${e.method}.${k} = ${e[k]}`);
    }
    assert.ok(e.testAccuracy <= 1 && e.testMacroF1 <= 1, e.method);
    assert.ok(e.trainableParams <= e.totalParams, e.method);
    assert.equal(e.steps, e.method === "feature" ? null : 6, e.method);
  }
  const by = Object.fromEntries(report.methods.map((e) => [e.method, e]));
  // The figure's point: PEFT trains a sliver of the parameters and saves a small file; full trains them all.
  assert.equal(by.full.trainableParams, by.full.totalParams);
  for (const m of ["lora", "prompt", "p-tuning", "prefix", "ia3", "adapter"]) {
    assert.ok(by[m].trainableParams < by.full.trainableParams / 10, m);
    assert.ok(by[m].artifactBytes < by.full.artifactBytes / 10, m);
  }
  assert.ok(by.feature.extractSeconds! > 0 && by.feature.extractSeconds! <= by.feature.trainSeconds);
  assert.equal(by.feature.lr, null);
});

test("--method-lr trains those methods at their rates, the others at their defaults for the model", async () => {
  const trainedLr = async (m: string) => (JSON.parse(await readFile(join(out, m, "logs", "hparams.json"), "utf8")) as { lr: number }).lr;
  const by = Object.fromEntries(report.methods.map((e) => [e.method, e]));
  // The tiny model's width is 32: 768/32 = 24 times the base-model rate for the head and the last layers, capped at
  // 10 times; prompt tuning keeps its rate.
  const defaults = [["head", 10 * methodInfo("head").baseLr], ["last-layers", 10 * methodInfo("last-layers").baseLr], ["prompt", methodInfo("prompt").baseLr]] as const;
  for (const [m, lr] of [["full", 3e-4], ["lora", 2e-3], ...defaults] as const) {
    assert.equal(by[m].lr, lr, m);
    assert.equal(await trainedLr(m), lr, m);
  }
});

test("chart.svg is valid SVG with a labelled point per method", async () => {
  const svg = await readFile(join(out, "chart.svg"), "utf8");
  assert.match(svg, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="960" height="600"/);
  // resvg's XML parser rejects anything malformed.
  const parsed = new Resvg(svg);
  assert.equal(parsed.width, 960);
  assert.equal(parsed.height, 600);
  assert.equal((svg.match(/<circle /g) ?? []).length >= methodNames().length, true);
  for (const m of methodNames()) assert.ok(svg.includes(`>${methodInfo(m).label} (`), `label of ${m}`);
  assert.match(svg, /Training time \(seconds(, log scale)?\)/);
  assert.match(svg, /Test accuracy/);
});

test("chart.png is a PNG of the chart's size, with text rendered", async () => {
  const png = await readFile(join(out, "chart.png"));
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.equal(png.readUInt32BE(16), 960);
  assert.equal(png.readUInt32BE(20), 600);
  assert.equal(report.chart.pngHasText, true, `no font rendered text (font file: ${report.chart.pngFont})`);
});

test("report.md's table and the printed table hold report.json's numbers", async () => {
  const md = await readFile(join(out, "report.md"), "utf8");
  assert.match(md, /!\[Test accuracy against training time\]\(chart\.png\)/);
  assert.match(md, /## Reading\n\n- Highest test accuracy: /);
  for (const e of report.methods) {
    const row = md.split("\n").find((l) => l.startsWith(`| ${e.label} |`));
    assert.ok(row, `row for ${e.method}`);
    const cells = row.split("|").slice(1, -1).map((c) => c.trim());
    assert.equal(cells[1], e.category);
    assert.equal(cells[2] === "-" ? null : Number(cells[2]), e.lr);
    assert.equal(Number(cells[3].replace(/,/g, "")), e.trainableParams);
    assert.ok(Math.abs(Number(cells[6]) - e.testAccuracy) <= 5e-5, `${e.method} accuracy ${cells[6]} vs ${e.testAccuracy}`);
    assert.ok(Math.abs(Number(cells[7]) - e.testMacroF1) <= 5e-5, `${e.method} F1 ${cells[7]} vs ${e.testMacroF1}`);
    assert.ok(Math.abs(parseFloat(cells[5]) - e.trainSeconds) <= 0.05 * e.trainSeconds + 0.01, `${e.method} time ${cells[5]} vs ${e.trainSeconds}`);
    const printed = stdout.split("\n").find((l) => l.startsWith(`${e.label}  `));
    assert.ok(printed, `printed row for ${e.method}`);
    assert.deepEqual(printed.split(/\s{2,}/).filter(Boolean), cells);
  }
  const best = [...report.methods].sort((a, b) => b.testAccuracy - a.testAccuracy)[0];
  assert.ok(md.includes(`Highest test accuracy: ${best.label} (${best.testAccuracy.toFixed(4)}`));
});

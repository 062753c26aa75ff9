// The chart's scales, labels and PNG rendering, on hand-made points.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { Resvg } from "@resvg/resvg-js";
import { chartSvg, type ChartPoint } from "../../src/report/chart-svg.js";
import { findFontFile, renderPng } from "../../src/report/png.js";
import { removeTempDirs, tempDir } from "../cli/tiny-models.js";

after(removeTempDirs);

const point = (label: string, seconds: number, accuracy: number, trainableParams: number, category = "parameter-efficient"): ChartPoint =>
  ({ label, category, seconds, accuracy, trainableParams });

test("training times spanning more than a decade get a log axis; close ones a linear axis from zero", () => {
  const wide = chartSvg([point("feature", 3, 0.8, 1538), point("full", 900, 0.92, 66_955_010, "layer fine-tuning")], "t", "s");
  assert.equal(wide.xScale, "log");
  assert.match(wide.svg, /Training time \(seconds, log scale\)/);
  const close = chartSvg([point("a", 3, 0.8, 1000), point("b", 5, 0.85, 2000)], "t", "s");
  assert.equal(close.xScale, "linear");
  assert.match(close.svg, />0 s</);
});

test("labels carry the parameter counts, marker area grows with log10 of them, and text is escaped", () => {
  const { svg } = chartSvg([point("small <&>", 1, 0.7, 100), point("large", 2, 0.9, 1_000_000)], "A & B", "\"quoted\"");
  assert.ok(svg.includes(">small &lt;&amp;&gt; (100)<"));
  assert.ok(svg.includes(">large (1M)<"));
  assert.ok(svg.includes(">A &amp; B<") && svg.includes(">&quot;quoted&quot;<"));
  const radii = [...svg.matchAll(/<circle cx="[\d.]+" cy="[\d.]+" r="([\d.]+)" fill="#2ca02c" fill-opacity="0.75" stroke="#222222" stroke-width="1"/g)].map((m) => Number(m[1]));
  assert.equal(radii.length, 2);
  // area ∝ log10(params): (r_large / r_small)^2 = 6 / 2.
  assert.ok(Math.abs((radii[1] / radii[0]) ** 2 - 3) < 0.05, `radii ${radii}`);
  new Resvg(svg);
});

test("the PNG has the SVG's size and real text when a font is found; no font folder means no font file", async () => {
  const { svg, width, height } = chartSvg([point("a", 1, 0.5, 10)], "title", "sub");
  const png = renderPng(svg);
  assert.equal(png.width, width);
  assert.equal(png.height, height);
  assert.ok(png.fontFile, "this machine has fonts (DejaVu under /usr/share/fonts)");
  assert.equal(png.hasText, true);
  assert.equal(findFontFile([await tempDir("no-fonts-")]), null);
});

// The comparison figure: test accuracy (y) against training time (x, logarithmic when the times span more
// than a decade), one labelled point per method, coloured by category, with marker area proportional to
// log10 of the trainable parameters (the labels give the counts too). Plain SVG 1.1, no scripts or CSS, so
// every renderer (browsers, resvg for the PNG) draws the same picture.
import { formatCount, formatSeconds } from "./format.js";

export interface ChartPoint {
  label: string;
  category: string;
  seconds: number;
  accuracy: number;
  trainableParams: number;
}

export interface Chart {
  svg: string;
  width: number;
  height: number;
  xScale: "log" | "linear";
}

const W = 960, H = 600;
const PLOT = { left: 80, right: 720, top: 80, bottom: 520 };
export const FONT_FAMILY = "DejaVu Sans, Arial, Helvetica, sans-serif";
const CATEGORY_COLORS: Record<string, string> = {
  "feature-based": "#8c564b",
  "layer fine-tuning": "#1f77b4",
  "parameter-efficient": "#2ca02c",
};
/** Average glyph width at 12px, for keeping labels apart without measuring text. */
const CHAR_W = 7;

interface Scale {
  map(v: number): number;
  ticks: number[];
  format(v: number): string;
}

export function chartSvg(points: ChartPoint[], title: string, subtitle: string): Chart {
  if (points.length === 0) throw new Error("chart: no points to draw");
  const secs = points.map((p) => Math.max(p.seconds, 1e-3));
  const log = Math.max(...secs) / Math.min(...secs) > 10;
  const x = log ? logScale(secs, PLOT.left, PLOT.right) : linearScale([0, ...secs], PLOT.left, PLOT.right, formatAxisSeconds);
  const accs = points.map((p) => p.accuracy);
  const yLo = Math.max(0, Math.floor((Math.min(...accs) - 0.03) * 20) / 20);
  const yHi = Math.min(1, Math.ceil((Math.max(...accs) + 0.03) * 20) / 20);
  const y = linearScale([yLo, yHi], PLOT.bottom, PLOT.top, (v) => v.toFixed(2), true);

  const parts: string[] = [
    `<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`,
    text(PLOT.left, 34, title, { size: 18, weight: "bold" }),
    text(PLOT.left, 56, subtitle, { size: 12, fill: "#555555" }),
    ...grid(x, y),
    `<rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" height="${PLOT.bottom - PLOT.top}" fill="none" stroke="#333333"/>`,
    text((PLOT.left + PLOT.right) / 2, PLOT.bottom + 46, `Training time (seconds${log ? ", log scale" : ""})`, { anchor: "middle", size: 13 }),
    text(0, 0, "Test accuracy", { anchor: "middle", size: 13, transform: `translate(24 ${(PLOT.top + PLOT.bottom) / 2}) rotate(-90)` }),
  ];
  const placed: Box[] = [];
  const order = points.map((p, i) => ({ p, px: x.map(secs[i]), py: y.map(p.accuracy) })).sort((a, b) => a.px - b.px);
  for (const { p, px, py } of order) {
    const r = radius(p.trainableParams);
    parts.push(`<circle cx="${px.toFixed(1)}" cy="${py.toFixed(1)}" r="${r.toFixed(1)}" fill="${color(p.category)}" fill-opacity="0.75" stroke="#222222" stroke-width="1"/>`);
    // Padded, so a label never touches a marker.
    placed.push({ x0: px - r - 3, x1: px + r + 3, y0: py - r - 3, y1: py + r + 3 });
  }
  for (const { p, px, py } of order) {
    const label = `${p.label} (${formatCount(p.trainableParams)})`;
    const spot = placeLabel(px, py, radius(p.trainableParams), label.length * CHAR_W, placed);
    parts.push(text(spot.x, spot.y, label, { size: 12, anchor: spot.anchor }));
  }
  parts.push(...legend(points));
  const svg = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${FONT_FAMILY}">`,
    ...parts.map((p) => `  ${p}`),
    `</svg>`,
    "",
  ].join("\n");
  return { svg, width: W, height: H, xScale: log ? "log" : "linear" };
}

/** Marker area proportional to log10(trainable parameters). */
function radius(params: number): number {
  return 3.2 * Math.sqrt(Math.log10(Math.max(params, 10)));
}

function color(category: string): string {
  return CATEGORY_COLORS[category] ?? "#9467bd";
}

function grid(x: Scale, y: Scale): string[] {
  const out: string[] = [];
  for (const t of x.ticks) {
    const px = x.map(t).toFixed(1);
    out.push(`<line x1="${px}" y1="${PLOT.top}" x2="${px}" y2="${PLOT.bottom}" stroke="#e5e5e5"/>`);
    out.push(text(Number(px), PLOT.bottom + 20, x.format(t), { anchor: "middle", size: 11 }));
  }
  for (const t of y.ticks) {
    const py = y.map(t).toFixed(1);
    out.push(`<line x1="${PLOT.left}" y1="${py}" x2="${PLOT.right}" y2="${py}" stroke="#e5e5e5"/>`);
    out.push(text(PLOT.left - 8, Number(py) + 4, y.format(t), { anchor: "end", size: 11 }));
  }
  return out;
}

function legend(points: ChartPoint[]): string[] {
  const x0 = PLOT.right + 24;
  const out = [text(x0, PLOT.top + 4, "Method category", { size: 12, weight: "bold" })];
  const categories = [...new Set(points.map((p) => p.category))];
  categories.forEach((f, i) => {
    const yy = PLOT.top + 26 + i * 22;
    out.push(`<circle cx="${x0 + 7}" cy="${yy - 4}" r="7" fill="${color(f)}" fill-opacity="0.75" stroke="#222222"/>`);
    out.push(text(x0 + 22, yy, f, { size: 12 }));
  });
  let yy = PLOT.top + 40 + categories.length * 22;
  out.push(text(x0, yy, "Trainable parameters", { size: 12, weight: "bold" }));
  out.push(text(x0, yy + 16, "(marker area ∝ log10)", { size: 11, fill: "#555555" }));
  yy += 30;
  for (const n of sizeLegend(points.map((p) => p.trainableParams))) {
    const r = radius(n);
    yy += r + 6;
    out.push(`<circle cx="${x0 + 12}" cy="${yy.toFixed(1)}" r="${r.toFixed(1)}" fill="none" stroke="#222222"/>`);
    out.push(text(x0 + 32, yy + 4, formatCount(n), { size: 12 }));
    yy += r + 4;
  }
  return out;
}

/** Round counts spanning the data: powers of ten from the smallest to the largest count. */
function sizeLegend(counts: number[]): number[] {
  const lo = Math.floor(Math.log10(Math.max(Math.min(...counts), 10)));
  const hi = Math.ceil(Math.log10(Math.max(...counts, 10)));
  const step = Math.max(1, Math.ceil((hi - lo) / 3));
  const out: number[] = [];
  for (let e = lo; e < hi; e += step) out.push(10 ** e);
  return [...out, 10 ** hi];
}

interface Box { x0: number; x1: number; y0: number; y1: number }

/** The first of a few spots around the marker where the label overlaps nothing drawn so far (or the
 *  least crowded one), kept inside the plot. */
function placeLabel(px: number, py: number, r: number, width: number, placed: Box[]): { x: number; y: number; anchor: "start" | "end" } {
  const candidates: { x: number; y: number; anchor: "start" | "end" }[] = [];
  for (const dy of [0, -14, 14, -28, 28, -42, 42]) {
    candidates.push({ x: px + r + 5, y: py + 4 + dy, anchor: "start" }, { x: px - r - 5, y: py + 4 + dy, anchor: "end" });
  }
  const box = (c: (typeof candidates)[number]): Box => {
    const x0 = c.anchor === "start" ? c.x : c.x - width;
    return { x0, x1: x0 + width, y0: c.y - 11, y1: c.y + 3 };
  };
  const inside = (b: Box) => b.x0 >= PLOT.left + 2 && b.x1 <= PLOT.right - 2 && b.y0 >= PLOT.top + 2 && b.y1 <= PLOT.bottom - 2;
  const overlap = (b: Box) => placed.filter((o) => b.x0 < o.x1 && o.x0 < b.x1 && b.y0 < o.y1 && o.y0 < b.y1).length;
  const scored = candidates.map((c, i) => ({ c, b: box(c), cost: overlap(box(c)) * 100 + (inside(box(c)) ? 0 : 1000) + i }));
  const best = scored.reduce((a, b) => (b.cost < a.cost ? b : a));
  placed.push(best.b);
  return best.c;
}

function logScale(values: number[], from: number, to: number): Scale {
  const lo = Math.log10(Math.min(...values) / 1.6), hi = Math.log10(Math.max(...values) * 1.6);
  const ticks: number[] = [];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (Math.log10(v) >= lo && Math.log10(v) <= hi) ticks.push(v);
    }
  }
  return { map: (v) => from + ((Math.log10(v) - lo) / (hi - lo)) * (to - from), ticks, format: formatAxisSeconds };
}

function linearScale(values: number[], from: number, to: number, format: (v: number) => string, exact = false): Scale {
  let lo = Math.min(...values), hi = Math.max(...values);
  if (!exact) hi = hi * 1.15 || 1;
  if (hi - lo < 1e-9) { lo -= 0.05; hi += 0.05; }
  const step = niceStep((hi - lo) / 6);
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + 1e-9; t += step) ticks.push(Number(t.toFixed(10)));
  return { map: (v) => from + ((v - lo) / (hi - lo)) * (to - from), ticks, format };
}

function niceStep(raw: number): number {
  const e = 10 ** Math.floor(Math.log10(raw));
  const m = raw / e;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * e;
}

/** Ticks are round numbers: under ten minutes they keep no decimals (formatSeconds would print "60.0 s" beside "40 s"). */
function formatAxisSeconds(v: number): string {
  return v >= 600 ? formatSeconds(v) : v >= 1 ? `${Number(v.toPrecision(3))} s` : `${Number(v.toPrecision(2))} s`;
}

function text(x: number, y: number, content: string, o: { size: number; anchor?: "start" | "middle" | "end"; weight?: string; fill?: string; transform?: string }): string {
  const attrs = [
    o.transform ? `transform="${o.transform}"` : `x="${x.toFixed(1)}" y="${y.toFixed(1)}"`,
    `font-size="${o.size}"`,
    o.anchor && o.anchor !== "start" ? `text-anchor="${o.anchor}"` : "",
    o.weight ? `font-weight="${o.weight}"` : "",
    `fill="${o.fill ?? "#111111"}"`,
  ].filter(Boolean);
  return `<text ${attrs.join(" ")}>${escapeXml(content)}</text>`;
}

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!);
}

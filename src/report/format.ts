// Number formats shared by the report, the chart and the command-line tables, so a value reads the same
// everywhere it appears.

export function formatSeconds(s: number): string {
  if (s < 10) return `${s.toFixed(2)} s`;
  if (s < 600) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB"];
  let v = n / 1024, u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

/** 1234 -> "1.2K", 1000 -> "1K", 66955010 -> "67M". */
export function formatCount(n: number): string {
  const short = (v: number, unit: string) => `${v.toFixed(1).replace(/\.0$/, "")}${unit}`;
  if (n < 1000) return String(n);
  if (n < 999_950) return short(n / 1e3, "K");
  if (n < 999_950_000) return short(n / 1e6, "M");
  return short(n / 1e9, "B");
}

/** A learning rate to three significant digits: 0.00215 -> "2.15e-3", 5e-5 -> "5e-5". */
export function formatLr(lr: number): string {
  return Number(lr.toPrecision(3)).toExponential().replace("e+", "e");
}

/** Scores as reported: four decimals. */
export function formatScore(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(4);
}

export function formatPercent(part: number, whole: number): string {
  const p = (100 * part) / whole;
  return `${p >= 1 ? p.toFixed(2) : Number(p.toPrecision(2))}%`;
}

/** A plain-text table with aligned columns (numbers right-aligned). */
export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const numeric = header.map((_, c) => rows.every((r) => /^[-\d.,]/.test(r[c]) || r[c] === "-"));
  const line = (cells: string[]) => cells.map((x, c) => (numeric[c] ? x.padStart(widths[c]) : x.padEnd(widths[c]))).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** 1234567 -> "1,234,567". */
export function formatInteger(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

// What commands print: results on stdout (so they can be piped), progress and notes on stderr.
import type { Metrics } from "../train/index.js";

export function info(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Loading notes from the library (a newly initialised head, unused checkpoint weights), each shown once
 *  and only its first line: the rest is transformers' generic advice. */
export function noteOnce(): (message: string) => void {
  const seen = new Set<string>();
  return (message) => {
    const line = message.split("\n")[0];
    if (seen.has(line)) return;
    seen.add(line);
    info(`note: ${line}`);
  };
}

/** "acc 0.8123  f1 0.8011  ..." with counts as integers. */
export function metricsLine(m: Metrics): string {
  return Object.entries(m).map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`).join("  ");
}

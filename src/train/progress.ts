// Training progress on stderr: a live bar redrawn in place on a terminal, plain periodic lines otherwise
// (pipes, log files, CI), where carriage returns would pile up into one unreadable line.

export interface ProgressState {
  /** 0-based, as in checkpoint names and metrics ("epoch 0/3" is the first of three). */
  epoch: number;
  maxEpochs: number;
  /** Optimizer steps done in this epoch, of `total`. */
  step: number;
  total: number;
  loss?: number;
  /** Since this epoch (or resumed run) started. */
  elapsedSec: number;
  stepsDone: number;
  samplesDone: number;
}

export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec)) return "?";
  const s = Math.round(sec), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = String(m).padStart(h ? 2 : 1, "0"), ss = String(r).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** "epoch 0/3 [=======>      ] 12/40 loss 0.4123 | 3.21 it/s 51.4 samples/s | ETA 0:09" (bar only when barWidth > 0). */
export function formatProgress(p: ProgressState, barWidth: number): string {
  const parts = [`epoch ${p.epoch}/${Number.isFinite(p.maxEpochs) ? p.maxEpochs : "?"}`];
  if (barWidth > 0) {
    const filled = Math.min(barWidth, Math.floor((p.step / Math.max(1, p.total)) * barWidth));
    parts.push(`[${"=".repeat(filled)}${filled < barWidth ? ">" : ""}${" ".repeat(Math.max(0, barWidth - filled - 1))}]`);
  }
  parts.push(`${p.step}/${p.total}`);
  if (p.loss !== undefined) parts.push(`loss ${p.loss.toFixed(4)}`);
  const rate = p.elapsedSec > 0 ? p.stepsDone / p.elapsedSec : NaN;
  if (Number.isFinite(rate) && rate > 0) {
    parts.push(`| ${rate.toFixed(2)} it/s ${(p.samplesDone / p.elapsedSec).toFixed(1)} samples/s | ETA ${formatDuration((p.total - p.step) / rate)}`);
  }
  return parts.join(" ");
}

interface Output {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export class ProgressReporter {
  private readonly live: boolean;
  private lastDraw = 0;
  private drawn = "";

  constructor(private readonly out: Output = process.stderr, private readonly enabled = true) {
    this.live = out.isTTY === true && !process.env.CI;
  }

  update(p: ProgressState): void {
    if (!this.enabled) return;
    if (this.live) {
      const now = Date.now();
      // Redrawing more than ~10 times a second only costs time.
      if (p.step < p.total && now - this.lastDraw < 100) return;
      this.lastDraw = now;
      this.drawn = formatProgress(p, Math.max(10, Math.min(40, (this.out.columns ?? 100) - 80)));
      this.out.write(`\r\x1b[2K${this.drawn}`);
      if (p.step === p.total) { this.out.write("\n"); this.drawn = ""; }
    } else if (p.step === p.total || p.step % Math.max(1, Math.round(p.total / 10)) === 0) {
      this.out.write(`${formatProgress(p, 0)}\n`);
    }
  }

  /** A line of its own (validation results), with the bar redrawn below it. `always` prints it even with the
   *  progress display disabled (interruptions, faults). */
  message(line: string, always = false): void {
    if (!this.enabled && !always) return;
    if (this.live && this.drawn) this.out.write(`\r\x1b[2K${line}\n${this.drawn}`);
    else this.out.write(`${line}\n`);
  }

  close(): void {
    if (this.live && this.drawn) this.out.write("\n");
    this.drawn = "";
  }
}

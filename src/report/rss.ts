// The peak resident set size while one method runs. The kernel's own peak (maxRSS) covers the whole
// process, so it identifies a method's peak only when that method raised it; otherwise the method stayed
// below an earlier one, and samples taken between training steps tell how high it went.
const SAMPLE_MS = 25;

export class PeakRss {
  private peak = 0;
  private readonly maxRssBefore = maxRss();
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  private sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
  }

  /** Bytes. */
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    const after = maxRss();
    return after > this.maxRssBefore ? Math.max(after, this.peak) : this.peak;
  }
}

function maxRss(): number {
  // resourceUsage reports kilobytes.
  return process.resourceUsage().maxRSS * 1024;
}

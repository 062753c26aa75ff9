// The peak resident set size while one method runs. The kernel's own peak (maxRSS) covers the whole
// process, so it identifies a method's peak only when that method raised it; otherwise the method stayed
// below an earlier one, and samples taken between training steps tell how high it went.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { backend } from "../backend/index.js";
import { drainPool } from "../tensor/pool.js";

const SAMPLE_MS = 25;

/** Gives back what earlier work left resident (the buffer pool, garbage not yet collected, freed heap the
 *  allocator keeps), so that a method measured next starts from what the process itself needs: without it a
 *  comparison's later methods carried the earlier ones' memory, and its Peak RSS column only ever rose. */
export function settleMemory(): void {
  drainPool();
  collectGarbage();
  backend().trimHeap();
}

/** Two full collections: after one, V8 frees dead ArrayBuffers' memory on a background sweeper, so the
 *  trim that follows would find it still in use; the second finishes that sweep first. */
function collectGarbage(): void {
  let gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) {
    // --expose-gc set now reaches contexts made after it: a fresh one hands over V8's gc function.
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as () => void;
  }
  gc();
  gc();
}

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

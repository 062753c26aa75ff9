// Learning-rate schedules as multipliers of each group's initial lr, stepped once per optimizer step
// (the Hugging Face get_*_schedule_with_warmup functions).
import type { Optimizer } from "./optimizer.js";

export type ScheduleName = "constant" | "linear" | "cosine";

export class LRScheduler {
  private readonly baseLrs: number[];
  lastStep = 0;

  constructor(readonly optimizer: Optimizer<{ lr: number }>, readonly lambda: (step: number) => number) {
    this.baseLrs = optimizer.paramGroups.map((g) => g.lr);
    this.apply();
  }

  step(): void {
    this.lastStep++;
    this.apply();
  }

  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  private apply(): void {
    const f = this.lambda(this.lastStep);
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = this.baseLrs[i] * f));
  }

  stateDict(): { lastStep: number; baseLrs: number[] } {
    return { lastStep: this.lastStep, baseLrs: [...this.baseLrs] };
  }

  loadStateDict(s: { lastStep: number; baseLrs: number[] }): void {
    this.lastStep = s.lastStep;
    s.baseLrs.forEach((v, i) => (this.baseLrs[i] = v));
    this.apply();
  }
}

export function constantSchedule(opt: Optimizer<{ lr: number }>, warmupSteps = 0): LRScheduler {
  return new LRScheduler(opt, (s) => (s < warmupSteps ? s / Math.max(1, warmupSteps) : 1));
}

export function linearSchedule(opt: Optimizer<{ lr: number }>, warmupSteps: number, totalSteps: number): LRScheduler {
  return new LRScheduler(opt, (s) =>
    s < warmupSteps ? s / Math.max(1, warmupSteps) : Math.max(0, (totalSteps - s) / Math.max(1, totalSteps - warmupSteps)));
}

export function cosineSchedule(opt: Optimizer<{ lr: number }>, warmupSteps: number, totalSteps: number, numCycles = 0.5): LRScheduler {
  return new LRScheduler(opt, (s) => {
    if (s < warmupSteps) return s / Math.max(1, warmupSteps);
    const progress = (s - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
    return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * numCycles * 2 * progress)));
  });
}

export function schedule(name: ScheduleName, opt: Optimizer<{ lr: number }>, warmupSteps: number, totalSteps: number): LRScheduler {
  switch (name) {
    case "constant": return constantSchedule(opt, warmupSteps);
    case "linear": return linearSchedule(opt, warmupSteps, totalSteps);
    case "cosine": return cosineSchedule(opt, warmupSteps, totalSteps);
  }
}

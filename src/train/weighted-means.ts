// Batch-size-weighted means of per-batch metrics, with a JSON-safe state so a resumed run logs the same values.
import type { Metrics } from "./module.js";

export class WeightedMeans {
  private sums = new Map<string, { sum: number; weight: number }>();

  add(values: Metrics, weight: number): void {
    for (const [k, v] of Object.entries(values)) {
      const e = this.sums.get(k) ?? { sum: 0, weight: 0 };
      e.sum += v * weight;
      e.weight += weight;
      this.sums.set(k, e);
    }
  }

  means(): Metrics {
    return Object.fromEntries([...this.sums].map(([k, e]) => [k, e.sum / e.weight]));
  }

  reset(): void {
    this.sums.clear();
  }

  stateDict(): Record<string, { sum: number; weight: number }> {
    return Object.fromEntries([...this.sums].map(([k, e]) => [k, { ...e }]));
  }

  loadStateDict(state: Record<string, { sum: number; weight: number }>): void {
    this.sums = new Map(Object.entries(state).map(([k, e]) => [k, { ...e }]));
  }
}

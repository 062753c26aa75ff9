// Logs the learning rate of each parameter group, named as Lightning's LearningRateMonitor names it:
// "lr-AdamW" for one group, "lr-AdamW/pg1", "lr-AdamW/pg2", ... for several.
import type { Callback } from "./callback.js";
import type { Trainer } from "../trainer.js";

export class LearningRateMonitor implements Callback {
  constructor(readonly opts: { loggingInterval?: "step" | "epoch" } = {}) {}

  onTrainStepEnd(trainer: Trainer): void {
    if ((this.opts.loggingInterval ?? "step") === "step" && trainer.globalStep % trainer.logEveryNSteps === 0) {
      trainer.log(this.named(trainer, trainer.stepLrs));
    }
  }

  onTrainEpochStart(trainer: Trainer): void {
    if (this.opts.loggingInterval === "epoch") trainer.log(this.named(trainer, trainer.optimizer!.paramGroups.map((g) => g.lr)));
  }

  private named(trainer: Trainer, lrs: number[]): Record<string, number> {
    const base = `lr-${trainer.optimizer!.constructor.name}`;
    return Object.fromEntries(lrs.map((lr, i) => [lrs.length === 1 ? base : `${base}/pg${i + 1}`, lr]));
  }
}

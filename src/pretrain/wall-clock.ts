// Training wall time (elapsed_s) and the learning rate, logged next to train_loss every log interval. The time
// is carried over resumes in the checkpoint, so loss against time stays continuous. Optionally a time budget.
import type { Callback } from "../train/callbacks/callback.js";
import type { Trainer } from "../train/trainer.js";

export class WallClock implements Callback {
  readonly stateKey = "WallClock";
  private before = 0;
  private startedAt = 0;

  /** maxSeconds: stop (after the current step, with a checkpoint) once this much training time has passed. */
  constructor(readonly maxSeconds = Infinity) {}

  get elapsed(): number {
    return this.before + (performance.now() - this.startedAt) / 1000;
  }

  onFitStart(): void {
    this.startedAt = performance.now();
  }

  onTrainStepEnd(trainer: Trainer): void {
    if (trainer.globalStep % trainer.logEveryNSteps === 0) trainer.log({ elapsed_s: Math.round(this.elapsed * 10) / 10, lr: trainer.stepLrs[0] });
    if (this.elapsed >= this.maxSeconds) trainer.requestStop(`time budget of ${Math.round(this.maxSeconds / 60)} min reached`);
  }

  stateDict(): { elapsed: number } {
    return { elapsed: this.elapsed };
  }

  loadStateDict(state: unknown): void {
    this.before = (state as { elapsed: number }).elapsed;
  }
}

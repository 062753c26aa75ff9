// Hooks into the training loop, as Lightning's Callback. The trainer awaits each hook, so a hook may write files.
import type { Trainer } from "../trainer.js";

export type HookResult = void | Promise<void>;

export interface Callback {
  /** Key of this callback's state in checkpoints; callbacks with state must have one that tells apart two
   *  instances configured differently. */
  readonly stateKey?: string;
  onFitStart?(trainer: Trainer): HookResult;
  onTrainEpochStart?(trainer: Trainer): HookResult;
  /** After each optimizer step, and after the validation that step triggered (if any). */
  onTrainStepEnd?(trainer: Trainer): HookResult;
  /** After a validation pass during fit; its metrics are in trainer.callbackMetrics. */
  onValidationEnd?(trainer: Trainer): HookResult;
  onTrainEpochEnd?(trainer: Trainer): HookResult;
  /** After a fit that finished or was interrupted (not one that failed). */
  onFitEnd?(trainer: Trainer): HookResult;
  stateDict?(): unknown;
  loadStateDict?(state: unknown): void;
}

export type MonitorMode = "min" | "max";

/** The monitored metric, or an error naming the ones that were logged (a typo in `monitor` is the usual cause). */
export function monitored(trainer: Trainer, monitor: string, who: string): number {
  const v = trainer.callbackMetrics[monitor];
  if (v === undefined) {
    throw new Error(`${who}: monitored metric "${monitor}" was not logged; available: ${Object.keys(trainer.callbackMetrics).sort().join(", ") || "none"}`);
  }
  return v;
}

// What every built-in TrainingModule shares: the default optimizer at the task's usual learning rate, and
// validation and test epochs that accumulate over every batch and compute their metrics once at the end
// (so a metric like macro-F1 or perplexity is the epoch's, not an average of per-batch values).
import type { Batch } from "../data/collate.js";
import type { Tensor } from "../tensor/index.js";
import { perplexity } from "./metrics.js";
import type { ForwardModel, Metrics, OptimizerConfig, TrainingModule, TrainingPlan, TrainingStepOutput } from "./module.js";
import { configureDefaultOptimizer, resolvedOptimization, type OptimizationOptions } from "./optimizer-config.js";

export abstract class EvaluatingModule<M extends ForwardModel = ForwardModel, O extends OptimizationOptions = OptimizationOptions>
  implements TrainingModule<Batch> {
  readonly hparams: Record<string, unknown>;

  constructor(readonly model: M, readonly opts: O, private readonly defaultLr: number, hparams: Record<string, unknown> = {}) {
    this.hparams = { module: new.target.name, ...resolvedOptimization(opts, defaultLr), ...hparams };
  }

  abstract trainingStep(batch: Batch): TrainingStepOutput;
  /** Adds one evaluation batch to the epoch's running totals. */
  protected abstract accumulate(batch: Batch): void;
  protected abstract reset(): void;
  protected abstract compute(): Metrics;

  configureOptimizers(plan: TrainingPlan): OptimizerConfig {
    return configureDefaultOptimizer(this.model, this.opts, this.defaultLr, plan);
  }

  validationStep(batch: Batch): void {
    this.accumulate(batch);
  }

  onValidationEpochStart(): void {
    this.reset();
  }

  onValidationEpochEnd(): Metrics {
    return this.compute();
  }

  testStep(batch: Batch): void {
    this.accumulate(batch);
  }

  onTestEpochStart(): void {
    this.reset();
  }

  onTestEpochEnd(): Metrics {
    return this.compute();
  }
}

/** Language modelling: an epoch's loss is averaged per predicted token, not per batch, and perplexity is
 *  exp of it (val_loss / val_ppl, test_loss / test_ppl in the trainer's names). */
export abstract class TokenLossModule<M extends ForwardModel = ForwardModel> extends EvaluatingModule<M> {
  private nllSum = 0;
  private tokenCount = 0;

  /** `meanLoss` is a batch's loss averaged over its `tokens` predicted tokens. */
  protected addTokens(meanLoss: Tensor, tokens: number): void {
    this.nllSum += meanLoss.item() * tokens;
    this.tokenCount += tokens;
  }

  protected reset(): void {
    this.nllSum = 0;
    this.tokenCount = 0;
  }

  protected compute(): Metrics {
    return { loss: this.nllSum / this.tokenCount, ppl: perplexity(this.nllSum, this.tokenCount) };
  }
}

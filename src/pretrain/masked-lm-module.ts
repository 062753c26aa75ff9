// Masked-LM pretraining as a TrainingModule. The loss is the model's maskedLoss (forward's loss, with the
// vocabulary projection only at masked positions). Evaluation averages it per masked token, not per
// batch (val_loss / val_ppl, test_loss / test_ppl in the trainer's names).
import { IGNORE_INDEX, type Batch } from "../data/collate.js";
import type { ModelInput } from "../models/outputs.js";
import type { Tensor } from "../tensor/index.js";
import { perplexity } from "../train/metrics.js";
import { modelInput, type ForwardModel, type Metrics, type OptimizerConfig, type TrainingModule, type TrainingPlan } from "../train/module.js";
import { configureDefaultOptimizer, resolvedOptimization, type OptimizationOptions } from "../train/optimizer-config.js";

/** DistilBertForMaskedLM and BertForMaskedLM. */
export interface MaskedLanguageModel extends ForwardModel {
  maskedLoss(input: ModelInput & { labels: Tensor }): Tensor;
}

const DEFAULT_LR = 1e-4;

export class MaskedLMModule implements TrainingModule<Batch> {
  readonly hparams: Record<string, unknown>;
  private nllSum = 0;
  private tokenCount = 0;

  constructor(readonly model: MaskedLanguageModel, readonly opts: OptimizationOptions = {}) {
    this.hparams = { module: "MaskedLMModule", ...resolvedOptimization(opts, DEFAULT_LR) };
  }

  configureOptimizers(plan: TrainingPlan): OptimizerConfig {
    return configureDefaultOptimizer(this.model, this.opts, DEFAULT_LR, plan);
  }

  trainingStep(batch: Batch): Tensor {
    return this.model.maskedLoss(maskedInput(batch));
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

  private accumulate(batch: Batch): void {
    const input = maskedInput(batch);
    let n = 0;
    for (const l of input.labels.data) if (l !== IGNORE_INDEX) n++;
    this.nllSum += this.model.maskedLoss(input).item() * n;
    this.tokenCount += n;
  }

  private reset(): void {
    this.nllSum = 0;
    this.tokenCount = 0;
  }

  private compute(): Metrics {
    return { loss: this.nllSum / this.tokenCount, ppl: perplexity(this.nllSum, this.tokenCount) };
  }
}

function maskedInput(batch: Batch): ModelInput & { labels: Tensor } {
  if (!batch.labels || batch.labels.ndim !== 2) throw new Error("MaskedLMModule: the batch needs [B, L] token labels");
  return { ...modelInput(batch), labels: batch.labels };
}

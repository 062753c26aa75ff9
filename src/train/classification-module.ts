// Sequence classification as a TrainingModule: cross-entropy from the model, and accuracy, macro precision /
// recall / F1 over a whole evaluation epoch (val_acc, val_f1, ... and test_* in the trainer's names).
import type { Batch } from "../data/collate.js";
import { argmax, noGrad, softmax, type Tensor } from "../tensor/index.js";
import { accuracy, macroScores } from "./metrics.js";
import { modelInput, type ForwardModel, type Metrics, type OptimizerConfig, type TrainingModule, type TrainingPlan } from "./module.js";
import { configureDefaultOptimizer, resolvedOptimization, type OptimizationOptions } from "./optimizer-config.js";

export interface SequenceClassificationOptions extends OptimizationOptions {
  /** Scores every class 0..numLabels-1 in the macro averages, even ones absent from an epoch. */
  numLabels?: number;
}

export interface ClassificationPrediction {
  /** Dataset positions of the batch's examples. */
  indices: number[];
  predictions: number[];
  probabilities: number[][];
}

export class SequenceClassificationModule implements TrainingModule<Batch> {
  readonly hparams: Record<string, unknown>;
  private preds: number[] = [];
  private targets: number[] = [];
  private lossSum = 0;

  constructor(readonly model: ForwardModel, readonly opts: SequenceClassificationOptions = {}) {
    this.hparams = { module: "SequenceClassificationModule", ...resolvedOptimization(opts, 2e-5), numLabels: opts.numLabels };
  }

  configureOptimizers(plan: TrainingPlan): OptimizerConfig {
    return configureDefaultOptimizer(this.model, this.opts, 2e-5, plan);
  }

  trainingStep(batch: Batch): { loss: Tensor; acc: number } {
    const out = this.model.forward(modelInput(batch));
    if (!out.loss) throw new Error("SequenceClassificationModule: the model returned no loss; does the batch have labels?");
    return { loss: out.loss, acc: accuracy(predictions(out.logits), labelsOf(batch)) };
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

  predictStep(batch: Batch): ClassificationPrediction {
    const { inputIds, attentionMask, tokenTypeIds } = modelInput(batch);
    const logits = noGrad(() => this.model.forward({ inputIds, attentionMask, tokenTypeIds }).logits);
    const probs = softmax(logits, -1);
    const c = logits.shape[logits.ndim - 1];
    return {
      indices: batch.indices,
      predictions: predictions(logits),
      probabilities: Array.from({ length: batch.size }, (_, r) => Array.from(probs.data.subarray(r * c, (r + 1) * c))),
    };
  }

  private accumulate(batch: Batch): void {
    const out = this.model.forward(modelInput(batch));
    this.preds.push(...predictions(out.logits));
    this.targets.push(...labelsOf(batch));
    this.lossSum += out.loss!.item() * batch.size;
  }

  private reset(): void {
    this.preds = [];
    this.targets = [];
    this.lossSum = 0;
  }

  private compute(): Metrics {
    const { precision, recall, f1 } = macroScores(this.preds, this.targets, this.opts.numLabels);
    return { loss: this.lossSum / this.preds.length, acc: accuracy(this.preds, this.targets), f1, precision, recall };
  }
}

function predictions(logits: Tensor): number[] {
  return Array.from(argmax(logits, -1).data);
}

function labelsOf(batch: Batch): number[] {
  if (!batch.labels) throw new Error("SequenceClassificationModule: the batch has no labels");
  return Array.from(batch.labels.data);
}

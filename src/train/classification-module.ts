// Sequence classification as a TrainingModule: cross-entropy from the model, and accuracy, macro precision /
// recall / F1 over a whole evaluation epoch (val_acc, val_f1, ... and test_* in the trainer's names).
import type { Batch } from "../data/collate.js";
import { argmax, noGrad, softmax, type Tensor } from "../tensor/index.js";
import { accuracy, macroScores } from "./metrics.js";
import { EvaluatingModule } from "./evaluating-module.js";
import { modelInput, type ForwardModel, type Metrics } from "./module.js";
import type { OptimizationOptions } from "./optimizer-config.js";

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

export class SequenceClassificationModule extends EvaluatingModule<ForwardModel, SequenceClassificationOptions> {
  private preds: number[] = [];
  private targets: number[] = [];
  private lossSum = 0;

  constructor(model: ForwardModel, opts: SequenceClassificationOptions = {}) {
    super(model, opts, 2e-5, { numLabels: opts.numLabels });
  }

  trainingStep(batch: Batch): { loss: Tensor; acc: number } {
    const out = this.model.forward(modelInput(batch));
    if (!out.loss) throw new Error("SequenceClassificationModule: the model returned no loss; does the batch have labels?");
    return { loss: out.loss, acc: accuracy(predictions(out.logits), labelsOf(batch)) };
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

  protected accumulate(batch: Batch): void {
    const out = this.model.forward(modelInput(batch));
    this.preds.push(...predictions(out.logits));
    this.targets.push(...labelsOf(batch));
    this.lossSum += out.loss!.item() * batch.size;
  }

  protected reset(): void {
    this.preds = [];
    this.targets = [];
    this.lossSum = 0;
  }

  protected compute(): Metrics {
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

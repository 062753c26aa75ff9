// Masked-LM pretraining as a TrainingModule. The loss is the model's maskedLoss (forward's loss, with the
// vocabulary projection only at masked positions), plus word-vector and sentence-vector distillation when
// targets are given (./word-vectors.ts, ./sentence-vectors.ts), each at the distillation weight; the tokens an
// evaluation batch predicts are the masked ones, and its loss is masked-LM's alone, so validation losses compare
// with and without distillation.
import { IGNORE_INDEX, type Batch } from "../data/collate.js";
import type { MaskedLoss, ModelInput } from "../models/outputs.js";
import { add, mul, type Tensor } from "../tensor/index.js";
import { TokenLossModule } from "../train/evaluating-module.js";
import { modelInput, type ForwardModel } from "../train/module.js";
import type { OptimizationOptions } from "../train/optimizer-config.js";
import { sentenceVectorLoss, type SentenceTargets } from "./sentence-vectors.js";
import { wordVectorLoss, type WordVectorTargets } from "./word-vectors.js";

/** What the last hidden states also learn to carry, and the weight of each such loss beside masked-LM's. */
export interface Distillation {
  words?: WordVectorTargets;
  sentences?: SentenceTargets;
  weight: number;
}

/** DistilBertForMaskedLM and BertForMaskedLM. */
export interface MaskedLanguageModel extends ForwardModel {
  maskedLoss(input: ModelInput & { labels: Tensor }): MaskedLoss;
}

const DEFAULT_LR = 1e-4;

export class MaskedLMModule extends TokenLossModule<MaskedLanguageModel> {
  constructor(model: MaskedLanguageModel, opts: OptimizationOptions = {}, private readonly distill?: Distillation) {
    super(model, opts, DEFAULT_LR, distill ? { distillWeight: distill.weight, distillDim: distill.words?.dim, sentenceDim: distill.sentences?.vectors.dim } : {});
  }

  trainingStep(batch: Batch): Tensor {
    const input = maskedInput(batch);
    const { loss, lastHiddenState } = this.model.maskedLoss(input);
    if (!this.distill) return loss;
    const { words, sentences, weight } = this.distill;
    let total = loss;
    if (words) total = add(total, mul(wordVectorLoss(lastHiddenState, batch.inputIds, input.labels, batch.attentionMask, words), weight));
    const sentenceLoss = sentences ? sentenceVectorLoss(lastHiddenState, batch.indices, sentences) : null;
    if (sentenceLoss) total = add(total, mul(sentenceLoss, weight));
    return total;
  }

  protected accumulate(batch: Batch): void {
    const input = maskedInput(batch);
    let n = 0;
    for (const l of input.labels.data) if (l !== IGNORE_INDEX) n++;
    this.addTokens(this.model.maskedLoss(input).loss, n);
  }
}

function maskedInput(batch: Batch): ModelInput & { labels: Tensor } {
  if (!batch.labels || batch.labels.ndim !== 2) throw new Error("MaskedLMModule: the batch needs [B, L] token labels");
  return { ...modelInput(batch), labels: batch.labels };
}

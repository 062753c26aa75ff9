// Masked-LM pretraining as a TrainingModule. The loss is the model's maskedLoss (forward's loss, with the
// vocabulary projection only at masked positions); the tokens an evaluation batch predicts are the masked ones.
import { IGNORE_INDEX, type Batch } from "../data/collate.js";
import type { ModelInput } from "../models/outputs.js";
import type { Tensor } from "../tensor/index.js";
import { TokenLossModule } from "../train/evaluating-module.js";
import { modelInput, type ForwardModel } from "../train/module.js";
import type { OptimizationOptions } from "../train/optimizer-config.js";

/** DistilBertForMaskedLM and BertForMaskedLM. */
export interface MaskedLanguageModel extends ForwardModel {
  maskedLoss(input: ModelInput & { labels: Tensor }): Tensor;
}

const DEFAULT_LR = 1e-4;

export class MaskedLMModule extends TokenLossModule<MaskedLanguageModel> {
  constructor(model: MaskedLanguageModel, opts: OptimizationOptions = {}) {
    super(model, opts, DEFAULT_LR);
  }

  trainingStep(batch: Batch): Tensor {
    return this.model.maskedLoss(maskedInput(batch));
  }

  protected accumulate(batch: Batch): void {
    const input = maskedInput(batch);
    let n = 0;
    for (const l of input.labels.data) if (l !== IGNORE_INDEX) n++;
    this.addTokens(this.model.maskedLoss(input), n);
  }
}

function maskedInput(batch: Batch): ModelInput & { labels: Tensor } {
  if (!batch.labels || batch.labels.ndim !== 2) throw new Error("MaskedLMModule: the batch needs [B, L] token labels");
  return { ...modelInput(batch), labels: batch.labels };
}

// Causal language modelling as a TrainingModule. The model shifts the labels itself (HF convention), so the
// tokens an evaluation batch predicts are its labelled positions after the first.
import { IGNORE_INDEX, type Batch } from "../data/collate.js";
import { crossEntropy, noGrad, slice, type Tensor } from "../tensor/index.js";
import { TokenLossModule } from "./evaluating-module.js";
import { modelInput, type ForwardModel } from "./module.js";
import type { OptimizationOptions } from "./optimizer-config.js";

export interface LmPrediction {
  indices: number[];
  /** Per example: summed negative log-likelihood of its labelled tokens, and how many there were. */
  nll: number[];
  tokens: number[];
}

export class CausalLMModule extends TokenLossModule {
  constructor(model: ForwardModel, opts: OptimizationOptions = {}) {
    super(model, opts, 5e-5);
  }

  trainingStep(batch: Batch): Tensor {
    const out = this.model.forward(modelInput(batch));
    if (!out.loss) throw new Error("CausalLMModule: the model returned no loss; does the batch have labels?");
    return out.loss;
  }

  predictStep(batch: Batch): LmPrediction {
    const { labels: _, ...input } = modelInput(batch);
    const logits = noGrad(() => this.model.forward(input).logits);
    const [b, l, v] = logits.shape;
    const targets = slice(labelsOf(batch), 1, 1);
    const nll = crossEntropy(slice(logits, 1, 0, l - 1).reshape(b * (l - 1), v), targets.reshape(b * (l - 1)), { reduction: "none" });
    const out: LmPrediction = { indices: batch.indices, nll: [], tokens: [] };
    for (let r = 0; r < b; r++) {
      let s = 0, n = 0;
      for (let t = 0; t < l - 1; t++) if (targets.data[r * (l - 1) + t] !== IGNORE_INDEX) { s += nll.data[r * (l - 1) + t]; n++; }
      out.nll.push(s);
      out.tokens.push(n);
    }
    return out;
  }

  protected accumulate(batch: Batch): void {
    this.addTokens(this.model.forward(modelInput(batch)).loss!, predictedTokens(labelsOf(batch)));
  }
}

/** Labelled positions after the shift: every column but the first. */
function predictedTokens(labels: Tensor): number {
  const [b, l] = labels.shape;
  let n = 0;
  for (let r = 0; r < b; r++) for (let t = 1; t < l; t++) if (labels.data[r * l + t] !== IGNORE_INDEX) n++;
  return n;
}

function labelsOf(batch: Batch): Tensor {
  if (!batch.labels || batch.labels.ndim !== 2) throw new Error("CausalLMModule: the batch needs [B, L] token labels");
  return batch.labels;
}

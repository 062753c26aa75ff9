// The loss of a sequence-classification head, chosen as transformers does from problem_type, or from
// the number of labels and the labels themselves.
import { Tensor, asTensor, crossEntropy, mseLoss, reshape, result } from "../tensor/index.js";
import { floatLike } from "../tensor/tensor.js";
import type { LabelConfig, ProblemType } from "./config.js";
import type { TensorLike } from "./outputs.js";

/** logits [batch, numLabels]; labels [batch] class ids, [batch] targets (regression), or
 *  [batch, numLabels] 0/1 targets (multi-label). */
export function classificationLoss(logits: Tensor, labels: TensorLike, config: LabelConfig): Tensor {
  const problem = config.problemType ?? inferProblem(labels, config.numLabels);
  const [batch] = logits.shape;
  switch (problem) {
    case "single_label_classification":
      return crossEntropy(logits, reshape(asTensor(labels, "int32"), [batch]));
    case "regression": {
      const y = asTensor(labels, "float32");
      return config.numLabels === 1 ? mseLoss(reshape(logits, [batch]), reshape(y, [batch])) : mseLoss(logits, y);
    }
    case "multi_label_classification":
      return bceWithLogits(logits, asTensor(labels, "float32"));
  }
}

function inferProblem(labels: TensorLike, numLabels: number): ProblemType {
  if (numLabels === 1) return "regression";
  const isInt = labels instanceof Tensor ? labels.dtype === "int32" || labels.ndim === 1 : !Array.isArray(labels) || !Array.isArray(labels[0]);
  return isInt ? "single_label_classification" : "multi_label_classification";
}

/** Mean binary cross-entropy on logits, in the stable form torch uses. */
function bceWithLogits(x: Tensor, y: Tensor): Tensor {
  if (x.shape.join() !== y.shape.join()) throw new RangeError(`multi-label targets [${y.shape}] must match logits [${x.shape}]`);
  const X = x.f, Y = y.f, n = x.numel;
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.max(X[i], 0) - X[i] * Y[i] + Math.log1p(Math.exp(-Math.abs(X[i])));
  const out = floatLike(X, 1);
  out[0] = s / n;
  return result(out, [], "bceWithLogits", [x], (g) => {
    const gx = floatLike(g, n);
    for (let i = 0; i < n; i++) gx[i] = (g[0] * (1 / (1 + Math.exp(-X[i])) - Y[i])) / n;
    return [gx];
  });
}

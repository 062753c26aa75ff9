// Class labels as sklearn handles them: any integers, sorted into `classes`, predicted back as values.
import { Tensor } from "../tensor/index.js";

export type Labels = Int32Array | readonly number[] | Tensor;

export function labelArray(y: Labels): Int32Array {
  const values = y instanceof Tensor ? y.data : y;
  const out = Int32Array.from(values);
  out.forEach((v, i) => {
    if (v !== values[i]) throw new TypeError(`labels must be integers, got ${values[i]} at index ${i}`);
  });
  return out;
}

/** Sorted distinct labels and each row's index into them. */
export function encodeLabels(y: Labels): { classes: Int32Array; index: Int32Array } {
  const values = labelArray(y);
  const classes = Int32Array.from(new Set(values)).sort();
  if (classes.length < 2) throw new Error(`need at least two classes to fit a classifier, got [${classes.join(", ")}]`);
  const position = new Map([...classes].map((c, i) => [c, i]));
  return { classes, index: values.map((v) => position.get(v)!) };
}

export function accuracy(predicted: Int32Array, y: Labels): number {
  const truth = labelArray(y);
  if (truth.length !== predicted.length) throw new RangeError(`${predicted.length} predictions for ${truth.length} labels`);
  let hits = 0;
  for (let i = 0; i < truth.length; i++) if (predicted[i] === truth[i]) hits++;
  return hits / truth.length;
}

/** argmax per row of [N, K] scores, mapped to class values. */
export function predictFromScores(scores: Tensor, classes: Int32Array): Int32Array {
  const [n, k] = scores.shape;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (scores.data[i * k + j] > scores.data[i * k + best]) best = j;
    out[i] = classes[best];
  }
  return out;
}

export function checkFeatures(X: Tensor, what: string, dim?: number): [number, number] {
  if (X.ndim !== 2 || !X.isFloat) throw new TypeError(`${what}: X must be a 2-d float tensor [N, D], got ${X}`);
  if (dim !== undefined && X.shape[1] !== dim) throw new RangeError(`${what}: X has ${X.shape[1]} features, the model was fit on ${dim}`);
  return [X.shape[0], X.shape[1]];
}

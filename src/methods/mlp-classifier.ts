// A small MLP on frozen features: the non-linear variant of the feature-based approach, trained with
// minibatch AdamW on the library's own modules.
import { Dropout, GELU, Linear, ReLU, Sequential, Tanh } from "../nn/index.js";
import { AdamW } from "../optim/index.js";
import {
  Tensor, crossEntropy, defaultGenerator, indexSelect, noGrad, softmax, tensor,
} from "../tensor/index.js";
import { loadClassifier, saveClassifier } from "./classifier-file.js";
import { accuracy, checkFeatures, encodeLabels, predictFromScores, type Labels } from "./labels.js";

export interface MLPEarlyStoppingOptions {
  /** Share of the training rows held out to score each epoch. Default 0.1. */
  validationFraction?: number;
  /** Epochs without a better validation accuracy before stopping. Default 10 (sklearn's n_iter_no_change). */
  patience?: number;
}

export interface MLPClassifierOptions {
  hiddenSizes?: number[];
  activation?: "relu" | "tanh" | "gelu";
  /** Dropout after each hidden activation. */
  dropout?: number;
  lr?: number;
  epochs?: number;
  batchSize?: number;
  weightDecay?: number;
  /** Seeds initialisation, shuffling, dropout and the validation split; fit() leaves the global
   *  generator as it found it. */
  seed?: number;
  /** Hold out a validation split and keep the weights of the best epoch. */
  earlyStopping?: boolean | MLPEarlyStoppingOptions;
}

interface SavedMeta {
  kind: "MLPClassifier";
  options: MLPClassifierOptions;
  inputDim: number;
}

const ACTIVATIONS = { relu: ReLU, tanh: Tanh, gelu: () => GELU() };

export class MLPClassifier {
  readonly options: Required<Omit<MLPClassifierOptions, "earlyStopping">> & { earlyStopping: false | Required<MLPEarlyStoppingOptions> };
  net: Sequential | null = null;
  classes: Int32Array = new Int32Array(0);
  /** Mean training loss per epoch. */
  lossHistory: number[] = [];
  /** Validation accuracy per epoch (early stopping only). */
  validationScores: number[] = [];
  bestEpoch = -1;

  constructor(options: MLPClassifierOptions = {}) {
    const es = options.earlyStopping;
    this.options = {
      hiddenSizes: [64], activation: "relu", dropout: 0, lr: 1e-3, epochs: 200, batchSize: 32, weightDecay: 1e-4, seed: 0,
      ...options,
      earlyStopping: es ? { validationFraction: 0.1, patience: 10, ...(es === true ? {} : es) } : false,
    };
    if (!(this.options.activation in ACTIVATIONS)) throw new Error(`MLPClassifier: unknown activation "${this.options.activation}"`);
  }

  fit(X: Tensor, y: Labels): this {
    const [n, dim] = checkFeatures(X, "MLPClassifier.fit");
    const { classes, index } = encodeLabels(y);
    if (index.length !== n) throw new RangeError(`MLPClassifier.fit: ${index.length} labels for ${n} rows`);
    this.classes = classes;
    withSeed(this.options.seed, () => this.train(X, index, dim, classes.length));
    return this;
  }

  /** [N, K] float32 probabilities, columns in the order of `classes`. */
  predictProba(X: Tensor): Tensor {
    return softmax(this.logits(X), -1);
  }

  predict(X: Tensor): Int32Array {
    return predictFromScores(this.logits(X), this.classes);
  }

  /** Accuracy. */
  score(X: Tensor, y: Labels): number {
    return accuracy(this.predict(X), y);
  }

  async save(path: string): Promise<void> {
    const net = this.fitted();
    const meta: SavedMeta = { kind: "MLPClassifier", options: this.options, inputDim: (net.at(0) as Linear).inFeatures };
    await saveClassifier(path, meta, net.stateDict(), this.classes);
  }

  static async load(path: string): Promise<MLPClassifier> {
    const { meta, tensors, classes } = await loadClassifier<SavedMeta>(path, "MLPClassifier");
    const model = new MLPClassifier(meta.options);
    model.classes = classes;
    model.net = model.build(meta.inputDim, classes.length);
    model.net.loadStateDict(tensors);
    model.net.eval();
    return model;
  }

  private build(inputDim: number, numClasses: number): Sequential {
    const { hiddenSizes, activation, dropout } = this.options;
    const net = new Sequential();
    let width = inputDim;
    for (const h of hiddenSizes) {
      net.append(new Linear(width, h)).append(ACTIVATIONS[activation]());
      if (dropout > 0) net.append(new Dropout(dropout));
      width = h;
    }
    return net.append(new Linear(width, numClasses));
  }

  private train(X: Tensor, y: Int32Array, dim: number, numClasses: number): void {
    const { lr, epochs, batchSize, weightDecay, earlyStopping } = this.options;
    const net = this.build(dim, numClasses);
    this.net = net;
    const order = shuffled(y.length);
    const nVal = earlyStopping ? Math.max(1, Math.round(earlyStopping.validationFraction * y.length)) : 0;
    const valRows = order.slice(0, nVal), trainRows = order.slice(nVal);
    if (trainRows.length === 0) throw new Error("MLPClassifier.fit: no training rows left after the validation split");
    const Xval = indexSelect(X, 0, valRows), yVal = valRows.map((i) => this.classes[y[i]]);
    const optimizer = new AdamW(net.parameters(), { lr, weightDecay });
    this.lossHistory = [];
    this.validationScores = [];
    let best = -Infinity, bestState: Map<string, Tensor> | null = null, sinceBest = 0;
    for (let epoch = 0; epoch < epochs; epoch++) {
      net.train();
      const rows = shuffled(trainRows.length).map((i) => trainRows[i]);
      let total = 0;
      for (let start = 0; start < rows.length; start += batchSize) {
        const batch = rows.slice(start, start + batchSize);
        const targets = tensor(Int32Array.from(batch, (i) => y[i]), { shape: [batch.length] });
        const loss = crossEntropy(net.forward(indexSelect(X, 0, batch)), targets);
        optimizer.zeroGrad();
        loss.backward();
        optimizer.step();
        total += loss.item() * batch.length;
      }
      this.lossHistory.push(total / rows.length);
      if (!earlyStopping) continue;
      const score = accuracy(this.predict(Xval), yVal);
      this.validationScores.push(score);
      if (score > best) {
        best = score; sinceBest = 0; this.bestEpoch = epoch;
        bestState = new Map([...net.stateDict()].map(([k, t]) => [k, t.clone()]));
      } else if (++sinceBest >= earlyStopping.patience) {
        break;
      }
    }
    if (bestState) net.loadStateDict(bestState);
    net.eval();
  }

  private logits(X: Tensor): Tensor {
    const net = this.fitted();
    checkFeatures(X, "MLPClassifier", (net.at(0) as Linear).inFeatures);
    const wasTraining = net.training;
    net.eval();
    try {
      return noGrad(() => net.forward(X));
    } finally {
      net.train(wasTraining);
    }
  }

  private fitted(): Sequential {
    if (!this.net) throw new Error("MLPClassifier is not fitted; call fit() or load() first");
    return this.net;
  }
}

/** Runs fn with the global generator (used by layer init and dropout) seeded, then restores its state,
 *  so a fit is reproducible without disturbing the caller's random stream. */
function withSeed<T>(seed: number, fn: () => T): T {
  const saved = defaultGenerator.getState();
  defaultGenerator.seed(seed);
  try {
    return fn();
  } finally {
    defaultGenerator.setState(saved);
  }
}

/** A permutation of 0..n-1 from the global generator (Fisher-Yates). */
function shuffled(n: number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = defaultGenerator.int(i + 1);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

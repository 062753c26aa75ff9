// Class probabilities for texts from any trained classifier (a model, a PeftModel, or frozen features plus
// a fitted classifier), and the metrics computed from them. Test scores after training and `finetune eval`
// on a saved output both go through evaluateClassifier, so they agree.
import type { TextExample } from "../../data/index.js";
import { DataLoader } from "../../data/dataloader.js";
import type { Example } from "../../data/collate.js";
import { extractFeatures, type LogisticRegression, type MLPClassifier, type Pooling } from "../../methods/index.js";
import type { PreTrainedModel } from "../../models/index.js";
import { noGrad, softmax } from "../../tensor/index.js";
import type { PreTrainedTokenizer } from "../../tokenizers/index.js";
import { accuracy, macroScores, type ForwardModel, type Metrics } from "../../train/index.js";

export type TextInput = Pick<TextExample, "text" | "textPair">;

export interface SequenceClassifier {
  labelNames: string[];
  /** One row of probabilities over labelNames per input. */
  predictProba(rows: TextInput[]): Promise<number[][]>;
}

export interface EncodeSettings {
  tokenizer: PreTrainedTokenizer;
  maxLength: number;
  batchSize: number;
  labelNames: string[];
}

export function padTokenId(tokenizer: PreTrainedTokenizer): number {
  return tokenizer.padTokenId ?? tokenizer.eosTokenId ?? 0;
}

/** A model whose forward returns [batch, numLabels] logits. */
export function modelClassifier(model: ForwardModel, s: EncodeSettings): SequenceClassifier {
  return finite({
    labelNames: s.labelNames,
    async predictProba(rows) {
      const pairs = rows.some((r) => r.textPair !== undefined) ? rows.map((r) => r.textPair ?? "") : undefined;
      const enc = await s.tokenizer.call(rows.map((r) => r.text), { textPair: pairs, truncation: true, maxLength: s.maxLength, returnTokenTypeIds: pairs !== undefined });
      const examples: Example[] = enc.inputIds.map((inputIds, i) => (pairs ? { inputIds, tokenTypeIds: enc.tokenTypeIds![i] } : { inputIds }));
      const out: number[][] = new Array(rows.length);
      const wasTraining = model.training;
      model.eval();
      try {
        for (const batch of new DataLoader(examples, { batchSize: s.batchSize, padTokenId: padTokenId(s.tokenizer), seed: 0 }).iterate(0)) {
          const { inputIds, attentionMask, tokenTypeIds } = batch;
          const probs = noGrad(() => softmax(model.forward({ inputIds, attentionMask, tokenTypeIds }).logits, -1));
          const k = probs.shape[1];
          batch.indices.forEach((idx, r) => { out[idx] = Array.from(probs.data.subarray(r * k, (r + 1) * k)); });
        }
      } finally {
        model.train(wasTraining);
      }
      return out;
    },
  });
}

export interface FeatureSettings extends EncodeSettings {
  pooling: Pooling;
}

/** The feature-based approach at prediction time: the frozen model's pooled features into the classifier. */
export function featureClassifier(base: PreTrainedModel, clf: LogisticRegression | MLPClassifier, s: FeatureSettings): SequenceClassifier {
  return finite({
    labelNames: s.labelNames,
    async predictProba(rows) {
      if (rows.some((r) => r.textPair !== undefined)) throw new Error("feature-based classifiers read single texts, not text pairs");
      const X = await extractFeatures(base, s.tokenizer, rows.map((r) => r.text), { pooling: s.pooling, maxLength: s.maxLength, batchSize: s.batchSize });
      const p = clf.predictProba(X);
      const k = p.shape[1];
      // The classifier knows only the classes it saw in training; the rest get probability 0.
      return rows.map((_, i) => {
        const full = new Array<number>(s.labelNames.length).fill(0);
        clf.classes.forEach((c, j) => { full[c] = p.data[i * k + j]; });
        return full;
      });
    },
  });
}

/** NaN scores would still give a label (the argmax of NaNs is the first class) and accuracy, with a loss of NaN and
 *  a score of null: a broken model must fail instead. */
function finite(c: SequenceClassifier): SequenceClassifier {
  return {
    labelNames: c.labelNames,
    async predictProba(rows) {
      const probs = await c.predictProba(rows);
      const bad = probs.findIndex((p) => p.some((x) => !Number.isFinite(x)));
      if (bad >= 0) {
        throw new Error(`the model's class probabilities for text ${bad + 1} ("${rows[bad].text.slice(0, 40)}") are ${probs[bad].join(", ")}: ` +
          "its weights hold NaN or infinite values (a corrupt or diverged model); retrain it or load another");
      }
      return probs;
    },
  };
}

export function argmaxRow(row: number[]): number {
  let best = 0;
  for (let j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
  return best;
}

/** Accuracy, macro precision / recall / F1 and mean cross-entropy over labelled rows. */
export async function evaluateClassifier(c: SequenceClassifier, rows: TextExample[]): Promise<Metrics> {
  if (rows.length === 0) throw new Error("no rows to evaluate");
  const probs = await c.predictProba(rows);
  const preds = probs.map(argmaxRow), targets = rows.map((r) => r.label);
  const loss = probs.reduce((s, p, i) => s - Math.log(Math.max(p[targets[i]] ?? 0, 1e-12)), 0) / rows.length;
  const { precision, recall, f1 } = macroScores(preds, targets, c.labelNames.length);
  return { acc: accuracy(preds, targets), f1, precision, recall, loss, rows: rows.length };
}

// Evaluation metrics as pure functions over predicted and true class ids, defined as scikit-learn defines
// them (macro averages are the unweighted mean over classes; an undefined ratio counts as 0).

export function accuracy(preds: ArrayLike<number>, targets: ArrayLike<number>): number {
  checkLengths(preds, targets);
  let hit = 0;
  for (let i = 0; i < preds.length; i++) if (preds[i] === targets[i]) hit++;
  return preds.length ? hit / preds.length : NaN;
}

export interface MacroScores {
  precision: number;
  recall: number;
  f1: number;
}

/** Macro precision, recall and F1. The classes are 0..numClasses-1 when numClasses is given, else every class
 *  that occurs in preds or targets (sklearn's default). Macro F1 is the mean of per-class F1, not the F1 of the
 *  macro precision and recall. */
export function macroScores(preds: ArrayLike<number>, targets: ArrayLike<number>, numClasses?: number): MacroScores {
  checkLengths(preds, targets);
  const classes = numClasses !== undefined
    ? Array.from({ length: numClasses }, (_, i) => i)
    : [...new Set([...Array.from(preds), ...Array.from(targets)])].sort((a, b) => a - b);
  if (classes.length === 0) return { precision: NaN, recall: NaN, f1: NaN };
  const tp = new Map<number, number>(), fp = new Map<number, number>(), fn = new Map<number, number>();
  const inc = (m: Map<number, number>, k: number) => m.set(k, (m.get(k) ?? 0) + 1);
  for (let i = 0; i < preds.length; i++) {
    if (preds[i] === targets[i]) inc(tp, preds[i]);
    else { inc(fp, preds[i]); inc(fn, targets[i]); }
  }
  let p = 0, r = 0, f = 0;
  for (const c of classes) {
    const t = tp.get(c) ?? 0, predicted = t + (fp.get(c) ?? 0), actual = t + (fn.get(c) ?? 0);
    const pc = predicted ? t / predicted : 0, rc = actual ? t / actual : 0;
    p += pc; r += rc; f += pc + rc ? (2 * pc * rc) / (pc + rc) : 0;
  }
  return { precision: p / classes.length, recall: r / classes.length, f1: f / classes.length };
}

/** exp of the mean negative log-likelihood per predicted token. */
export function perplexity(totalNll: number, tokenCount: number): number {
  return Math.exp(totalNll / tokenCount);
}

function checkLengths(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new RangeError(`metrics: ${a.length} predictions for ${b.length} targets`);
}

// Padding and truncation decisions, kept out of the Rust tokenizer's own padding/truncation state:
// that state is shared by every in-flight async encode, so setting it per call would race.
// The rules follow HF's PreTrainedTokenizerBase._get_padding_truncation_strategies.

export type Padding = boolean | "longest" | "max_length" | "do_not_pad";
export type Truncation = boolean | "longest_first" | "only_first" | "only_second" | "do_not_truncate";
export type Side = "right" | "left";

export interface ResolvedStrategies {
  padding: "none" | "longest" | "max_length";
  truncation: "none" | "longest_first" | "only_first" | "only_second";
  /** Truncation length (with special tokens), or the padding length for "max_length". */
  maxLength: number | undefined;
}

export function resolveStrategies(
  opts: { padding?: Padding; truncation?: Truncation; maxLength?: number },
  modelMaxLength: number,
): ResolvedStrategies {
  const { maxLength } = opts;
  if (maxLength !== undefined && (!Number.isInteger(maxLength) || maxLength < 0)) {
    throw new Error(`maxLength must be a non-negative integer, got ${maxLength}`);
  }
  const padding =
    opts.padding === true || opts.padding === "longest"
      ? "longest"
      : opts.padding === "max_length"
        ? "max_length"
        : "none";
  // HF: a maxLength with neither padding nor truncation asked for means "truncate to it".
  const truncationOpt = opts.truncation ?? (maxLength !== undefined && padding === "none" ? "longest_first" : false);
  const truncation =
    truncationOpt === true
      ? "longest_first"
      : truncationOpt === false || truncationOpt === "do_not_truncate"
        ? "none"
        : truncationOpt;
  const fallback = Number.isFinite(modelMaxLength) ? modelMaxLength : undefined;
  const length = maxLength ?? (truncation !== "none" || padding === "max_length" ? fallback : undefined);
  if (padding === "max_length" && length === undefined) {
    throw new Error('padding: "max_length" needs maxLength: this tokenizer has no modelMaxLength');
  }
  return { padding, truncation: length === undefined ? "none" : truncation, maxLength: length };
}

/**
 * How many tokens of each sequence survive truncation to `budget` tokens (special tokens already
 * taken out). "longest_first" follows the Rust tokenizers: the shorter sequence keeps up to half the
 * budget, the longer one the rest; on a tie the first sequence counts as the shorter.
 */
export function truncatedLengths(
  first: number,
  second: number | undefined,
  budget: number,
  strategy: ResolvedStrategies["truncation"],
): [number, number | undefined] {
  const total = first + (second ?? 0);
  if (strategy === "none" || total <= budget) return [first, second];
  const excess = total - budget;
  if (second === undefined) {
    if (strategy === "only_second") throw new Error('truncation "only_second" needs a textPair');
    return [budget, undefined];
  }
  switch (strategy) {
    case "only_first":
      if (excess > first) throw new Error(truncationError("first", first, excess));
      return [first - excess, second];
    case "only_second":
      if (excess > second) throw new Error(truncationError("second", second, excess));
      return [first, second - excess];
    case "longest_first": {
      const short = Math.min(first, second);
      const keepShort = Math.min(short, Math.floor(budget / 2));
      const keepLong = budget - keepShort;
      return first <= second ? [keepShort, keepLong] : [keepLong, keepShort];
    }
  }
}

function truncationError(which: string, length: number, excess: number): string {
  return (
    `cannot truncate: ${excess} tokens must go but the ${which} sequence has only ${length}; ` +
    'use truncation "longest_first" or a larger maxLength'
  );
}

/** Left- or right-pads `row` to `length` with `value`. */
export function padRow<T>(row: T[], length: number, value: T, side: Side): T[] {
  if (row.length >= length) return row;
  const fill = Array.from({ length: length - row.length }, () => value);
  return side === "right" ? row.concat(fill) : fill.concat(row);
}

// Regular expressions from files anyone may have written: adapter_config.json's module patterns and tokenizer.json's
// Split / Replace patterns. A backtracking engine can spend exponential time on "(a+)+$", and polynomial time on
// "a*a*a*$"; the Rust tokenizers library runs its patterns on Oniguruma, which gives up after 10 million backtracking
// steps with a panic that aborts the whole process. So such patterns are refused by their shape, before any engine
// sees them. The shape rules are conservative: they may refuse a pattern that is in fact fast, never the reverse for
// the shapes they know (nested repeats, repeated alternations, overlapping repeats, long chains of options).

/** Group openers after "(": non-capturing, lookarounds, named, atomic, and inline-flag groups such as (?i: or (?i-m:. */
const GROUP_KIND = /^\?(?::|=|!|<=|<!|<[A-Za-z_$][\w$]*>|>|[imsx]*(?:-[imsx]+)?:)/;

/** True when a quantified group (*, +, {n,}, {n,m} with m > 1) contains a quantifier or an alternation. */
export function mayBacktrackExponentially(source: string): boolean {
  // Per open group: whether it holds a quantifier or "|" so far.
  const stack: boolean[] = [];
  let lastGroupRisky = false;
  let i = 0;
  const quantifierAt = (j: number): { repeats: boolean; length: number } | null => {
    const ch = source[j];
    if (ch === "*" || ch === "+") return { repeats: true, length: 1 };
    if (ch === "?") return { repeats: false, length: 1 };
    if (ch === "{") {
      const m = /^\{(\d*)(,(\d*))?\}/.exec(source.slice(j));
      if (!m) return null;
      const max = m[2] === undefined ? Number(m[1]) : m[3] === "" ? Infinity : Number(m[3]);
      return { repeats: max > 1, length: m[0].length };
    }
    return null;
  };
  while (i < source.length) {
    const ch = source[i];
    if (ch === "\\") {
      i += 2;
      lastGroupRisky = false;
      continue;
    }
    if (ch === "[") {
      // A character class: skip to its closing bracket.
      let j = i + 1;
      if (source[j] === "^") j++;
      if (source[j] === "]") j++;
      while (j < source.length && source[j] !== "]") j += source[j] === "\\" ? 2 : 1;
      i = j + 1;
      lastGroupRisky = false;
      continue;
    }
    if (ch === "(") {
      stack.push(false);
      i++;
      // Group kinds: (?: (?= (?! (?<= (?<! (?<name> (?> and Oniguruma's (?i: / (?i-m:
      const kind = GROUP_KIND.exec(source.slice(i));
      if (kind) i += kind[0].length;
      continue;
    }
    if (ch === ")") {
      lastGroupRisky = stack.pop() ?? false;
      i++;
      const q = quantifierAt(i);
      if (q) {
        if (q.repeats && lastGroupRisky) return true;
        if (stack.length) stack[stack.length - 1] = true;
        i += q.length;
        if (source[i] === "?" || source[i] === "+") i++; // lazy / possessive marker
      } else if (lastGroupRisky && stack.length) {
        stack[stack.length - 1] = true;
      }
      continue;
    }
    if (ch === "|") {
      if (stack.length) stack[stack.length - 1] = true;
      i++;
      continue;
    }
    const q = quantifierAt(i);
    if (q) {
      if (stack.length) stack[stack.length - 1] = true;
      i += q.length;
      continue;
    }
    i++;
  }
  return false;
}

/** A repeat allowing more than this many matches counts as unbounded for the rules below. */
const MANY = 16;
/** At most this many ways for the bounded options of one sequence to split a text (a?a?a?...aaa is 2^n). */
const MAX_CHOICES = 4096;
/** Longer patterns are refused outright: no tokenizer needs one, and the checks below stay cheap. */
export const MAX_PATTERN_LENGTH = 10_000;

/**
 * Why `source` could make a backtracking engine (Oniguruma, or V8's usual one) run away on some text, or null.
 * Besides the exponential shapes above it refuses, within one alternative: two unbounded repeats that can match the
 * same character with nothing between them that stops them trading characters, unless the alternative succeeds as soon
 * as the second has matched (so "\s*[\r\n]+" at the end of a branch passes, "a*a*$" does not); and chains of
 * options with more than MAX_CHOICES combinations.
 */
export function backtrackingRisk(source: string): string | null {
  if (source.length > MAX_PATTERN_LENGTH) return `is ${source.length} characters long (limit ${MAX_PATTERN_LENGTH})`;
  if (mayBacktrackExponentially(source)) return "repeats a group that itself repeats or alternates, which can take exponential time";
  const branches = new RegexShape(source).alternatives();
  if (branches.some((b) => riskySequence(b, true))) {
    return "has repeats that can match the same text in many ways (or too many optional parts), which can take polynomial time";
  }
  return null;
}

/** One element of a sequence with its quantifier: a one-character matcher, a group, or a zero-width assertion. */
interface Item {
  kind: "char" | "group" | "assert";
  source: string;
  branches?: Item[][];
  min: number;
  max: number;
  possessive: boolean;
}

/** A tolerant parser of the shapes that matter (JS and Oniguruma syntax): syntax errors are left to the engine. */
class RegexShape {
  private i = 0;
  constructor(private readonly s: string) {}

  alternatives(): Item[][] {
    const branches: Item[][] = [[]];
    while (this.i < this.s.length && this.s[this.i] !== ")") {
      if (this.s[this.i] === "|") {
        this.i++;
        branches.push([]);
        continue;
      }
      const item = this.atom();
      if (item) branches.at(-1)!.push(this.quantified(item));
    }
    return branches;
  }

  private atom(): Omit<Item, "min" | "max" | "possessive"> | null {
    const s = this.s, start = this.i, ch = s[this.i]!;
    if (ch === "\\") {
      const next = s[this.i + 1] ?? "";
      this.i += 2;
      if ("pPx".includes(next) && s[this.i] === "{") this.i = closing(s, this.i, "}");
      else if (next === "x") this.i += 2;
      else if (next === "u") this.i += 4;
      else if (next === "k" && s[this.i] === "<") this.i = closing(s, this.i, ">");
      if ("bBAzZG".includes(next)) return { kind: "assert", source: s.slice(start, this.i) };
      // A back-reference matches whatever its group did: it may overlap anything.
      if (/[1-9k]/.test(next)) return { kind: "group", source: s.slice(start, this.i), branches: [] };
      return { kind: "char", source: s.slice(start, this.i) };
    }
    if (ch === "[") {
      let depth = 0, j = this.i;
      do {
        if (s[j] === "\\") j += 2;
        else {
          if (s[j] === "[") {
            depth++;
            if (s[j + 1] === "^") j++;
            if (s[j + 1] === "]") j++; // a "]" first in a class is a literal
          } else if (s[j] === "]") depth--;
          j++;
        }
      } while (depth > 0 && j < s.length);
      this.i = j;
      return { kind: "char", source: s.slice(start, j) };
    }
    if (ch === "(") {
      this.i++;
      if (s.startsWith("?#", this.i)) {
        this.i = closing(s, this.i, ")");
        return null;
      }
      const flagsOnly = /^\?[imsx]*(?:-[imsx]*)?\)/.exec(s.slice(this.i));
      if (flagsOnly) {
        this.i += flagsOnly[0].length;
        return null;
      }
      const lookaround = /^\?(?:=|!|<=|<!)/.exec(s.slice(this.i));
      const kind = GROUP_KIND.exec(s.slice(this.i));
      if (kind) this.i += kind[0].length;
      const branches = this.alternatives();
      this.i++; // ")"
      return lookaround ? { kind: "assert", source: s.slice(start, this.i) } : { kind: "group", source: s.slice(start, this.i), branches };
    }
    this.i += ch.length === 1 && ch >= "\uD800" && ch <= "\uDBFF" ? 2 : 1;
    if (ch === "^" || ch === "$") return { kind: "assert", source: ch };
    return { kind: "char", source: s.slice(start, this.i) };
  }

  private quantified(item: Omit<Item, "min" | "max" | "possessive">): Item {
    const s = this.s;
    let min = 1, max = 1;
    const ch = s[this.i];
    if (ch === "*" || ch === "+" || ch === "?") {
      [min, max] = ch === "*" ? [0, Infinity] : ch === "+" ? [1, Infinity] : [0, 1];
      this.i++;
    } else if (ch === "{") {
      const m = /^\{(\d*)(,(\d*))?\}/.exec(s.slice(this.i));
      if (m && (m[1] !== "" || m[3])) {
        min = m[1] === "" ? 0 : Number(m[1]);
        max = m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3]);
        this.i += m[0].length;
      }
    } else {
      return { ...item, min, max, possessive: false };
    }
    const possessive = s[this.i] === "+";
    if (s[this.i] === "?" || possessive) this.i++;
    return { ...item, min, max, possessive };
  }
}

function closing(s: string, from: number, ch: string): number {
  const at = s.indexOf(ch, from);
  return at < 0 ? s.length : at + 1;
}

const unbounded = (item: Item) => item.max > MANY && !item.possessive && item.kind !== "assert";
/** Can match nothing and never fails (an optional part, or a group with such a branch). */
const alwaysSucceeds = (item: Item): boolean =>
  item.kind !== "assert" && (item.min === 0 || (item.branches?.some((b) => b.every(alwaysSucceeds)) ?? false));
/** Lets a repeat before it give characters to a repeat after it: it can match nothing, or matches what the first does. */
const passable = (item: Item, first: Item): boolean => item.kind === "assert" || alwaysSucceeds(item) || overlaps(first, item);

function riskySequence(seq: Item[], atEnd: boolean): boolean {
  if (seq.some((item) => item.branches?.some((b) => riskySequence(b, false)))) return true;
  let choices = 1;
  for (const item of seq) if (item.max <= MANY && item.max > item.min && !item.possessive) choices *= item.max - item.min + 1;
  if (choices > MAX_CHOICES) return true;
  for (let i = 0; i < seq.length; i++) {
    if (!unbounded(seq[i]!)) continue;
    for (let j = i + 1; j < seq.length; j++) {
      if (!passable(seq[j]!, seq[i]!)) break;
      if (!unbounded(seq[j]!) || !overlaps(seq[i]!, seq[j]!)) continue;
      if (!(atEnd && seq.slice(j + 1).every(alwaysSucceeds))) return true;
    }
  }
  return false;
}

let probes: string[] | undefined;
const matchers = new Map<string, RegExp | null>();

/** Whether two items can match a common character: tried on every BMP code point and a sample of the others. Groups,
 *  back-references and classes JavaScript cannot compile are assumed to overlap everything. */
function overlaps(a: Item, b: Item): boolean {
  if (a.kind !== "char" || b.kind !== "char") return true;
  const [ra, rb] = [matcher(a.source), matcher(b.source)];
  if (!ra || !rb) return true;
  if (!probes) {
    probes = [];
    for (let cp = 0; cp <= 0x10ffff; cp += cp < 0x10000 ? 1 : 97) if (cp < 0xd800 || cp > 0xdfff) probes.push(String.fromCodePoint(cp));
  }
  return probes.some((p) => ra.test(p) && rb.test(p));
}

function matcher(source: string): RegExp | null {
  if (!matchers.has(source)) {
    let re: RegExp | null;
    try {
      re = new RegExp(`^(?:${source})$`, "u");
    } catch {
      re = null;
    }
    matchers.set(source, re);
  }
  return matchers.get(source)!;
}

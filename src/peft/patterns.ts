// Regular expressions that come from adapter_config.json (target_modules, exclude_modules, feedforward_modules,
// rank_pattern and alpha_pattern keys). Such a file may come from anyone, and a backtracking engine can take
// exponential time on a pattern like "(.*)*x" against a module name: a hang, not an error. So patterns are compiled for
// V8's linear-time engine (the "l" flag, enabled once with --enable-experimental-regexp-engine, which only adds the
// flag and changes no other regular expression). A pattern that engine cannot run (lookaround, backreferences) falls
// back to the usual engine only if no quantified group in it holds another quantifier or an alternation, the shapes
// that backtrack exponentially; anything else is refused with the field's name.
import { setFlagsFromString } from "node:v8";

let linearFlag: boolean | undefined;

function linearEngine(): boolean {
  if (linearFlag === undefined) {
    try {
      new RegExp("a", "l");
      linearFlag = true;
    } catch {
      try {
        setFlagsFromString("--enable-experimental-regexp-engine");
        new RegExp("a", "l");
        linearFlag = true;
      } catch {
        linearFlag = false;
      }
    }
  }
  return linearFlag;
}

const cache = new Map<string, RegExp>();

/**
 * `source` wrapped as `^(?:source)$` (full match) or, with `suffix`, `(.*\.)?(?:source)$` (PEFT's rank_pattern rule).
 * `what` names the field in errors, e.g. 'target_modules'.
 */
export function configPattern(source: string, what: string, mode: "full" | "suffix" = "full"): RegExp {
  const wrapped = mode === "full" ? `^(?:${source})$` : `(.*\\.)?(?:${source})$`;
  const key = `${mode}\0${source}`;
  const hit = cache.get(key);
  if (hit) return hit;
  let re: RegExp;
  try {
    new RegExp(wrapped); // the syntax check, with the usual engine's message
  } catch (e) {
    throw new Error(`${what}: ${JSON.stringify(source)} is not a valid regular expression (${(e as Error).message})`);
  }
  try {
    if (!linearEngine()) throw new Error("no linear engine");
    re = new RegExp(wrapped, "l");
  } catch {
    if (mayBacktrackExponentially(source)) {
      throw new Error(`${what}: the regular expression ${JSON.stringify(source)} repeats a group that itself repeats or alternates, ` +
        "which can take exponential time; simplify it (or list the module names)");
    }
    re = new RegExp(wrapped);
  }
  cache.set(key, re);
  return re;
}

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
      // Group kinds: (?: (?= (?! (?<= (?<! (?<name>
      const kind = /^\?(?::|=|!|<=|<!|<[A-Za-z_$][\w$]*>)/.exec(source.slice(i));
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

/** Adapter sizes read from adapter_config.json (ranks, widths, virtual tokens) beyond this are a corrupt or hostile
 *  file, not an adapter: refused before anything of that size is allocated. */
export const MAX_ADAPTER_SIZE = 65_536;

/** Checks a module-name field of a config: null, a string (a regex) or a list of strings. */
export function checkModuleNames(value: unknown, what: string, opts: { allowRegex?: boolean } = {}): void {
  if (value === null || value === undefined) return;
  if (typeof value === "string") {
    if (opts.allowRegex !== false && value !== "all-linear") configPattern(value, what);
    return;
  }
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw new Error(`${what} must be a list of module names or one regular expression, got ${JSON.stringify(value)}`);
  }
}

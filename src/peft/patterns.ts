// Regular expressions that come from adapter_config.json (target_modules, exclude_modules, feedforward_modules,
// rank_pattern and alpha_pattern keys). Such a file may come from anyone, and a backtracking engine can take
// exponential time on a pattern like "(.*)*x" against a module name: a hang, not an error. So patterns are compiled for
// V8's linear-time engine (the "l" flag, enabled once with --enable-experimental-regexp-engine, which only adds the
// flag and changes no other regular expression). A pattern that engine cannot run (lookaround, backreferences) falls
// back to the usual engine only if no quantified group in it holds another quantifier or an alternation, the shapes
// that backtrack exponentially; anything else is refused with the field's name.
import { setFlagsFromString } from "node:v8";
import { mayBacktrackExponentially } from "../io/untrusted-regex.js";

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

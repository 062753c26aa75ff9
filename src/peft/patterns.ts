// Regular expressions that come from adapter_config.json (target_modules, exclude_modules, feedforward_modules,
// rank_pattern and alpha_pattern keys). Such a file may come from anyone, and a backtracking engine can take
// exponential time on a pattern like "(.*)*x" against a module name: a hang, not an error. So patterns are compiled for
// V8's linear-time engine (the "l" flag, enabled once with --enable-experimental-regexp-engine, which only adds the
// flag and changes no other regular expression). A pattern that engine cannot run (lookaround, backreferences) falls
// back to the usual engine only if no quantified group in it holds another quantifier or an alternation, the shapes
// that backtrack exponentially; anything else is refused with the field's name.
import { setFlagsFromString } from "node:v8";
import type { Field } from "../models/config.js";
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
  const re = compile(source, mode);
  if (typeof re === "string") throw new Error(`${what}: ${re}`);
  return re;
}

/** What is wrong with a regular expression from a config, or undefined: for a field's schema check. */
export function patternProblem(source: string, mode: "full" | "suffix" = "full"): string | undefined {
  const re = compile(source, mode);
  return typeof re === "string" ? re : undefined;
}

/** The compiled pattern, or the problem with it. */
function compile(source: string, mode: "full" | "suffix"): RegExp | string {
  const wrapped = mode === "full" ? `^(?:${source})$` : `(.*\\.)?(?:${source})$`;
  const key = `${mode}\0${source}`;
  const hit = cache.get(key);
  if (hit) return hit;
  let re: RegExp;
  try {
    new RegExp(wrapped); // the syntax check, with the usual engine's message
  } catch (e) {
    return `${JSON.stringify(source)} is not a valid regular expression (${(e as Error).message})`;
  }
  try {
    if (!linearEngine()) throw new Error("no linear engine");
    re = new RegExp(wrapped, "l");
  } catch {
    if (mayBacktrackExponentially(source)) {
      return `the regular expression ${JSON.stringify(source)} repeats a group that itself repeats or alternates, ` +
        "which can take exponential time; simplify it (or list the module names)";
    }
    re = new RegExp(wrapped);
  }
  cache.set(key, re);
  return re;
}

/** Adapter sizes read from adapter_config.json (ranks, widths, virtual tokens) beyond this are a corrupt or hostile
 *  file, not an adapter: refused before anything of that size is allocated. */
export const MAX_ADAPTER_SIZE = 65_536;

/** A config field holding such a size, left null until the model decides it. */
export const SIZE_FIELD = { kind: "int", default: null, nullable: true, min: 1, max: MAX_ADAPTER_SIZE } as const satisfies Field;

/** The schema check of a module-name field (target_modules and the like): a string other than "all-linear" is a
 *  regular expression matched against the full module name, and must compile. */
export function moduleNamesProblem(value: string | string[]): string | undefined {
  if (typeof value !== "string" || value === "all-linear") return undefined;
  const problem = patternProblem(value);
  return problem && `is not usable: ${problem}`;
}

/** A config field naming modules: null (the model family's default), a list of names, or one regular expression. */
export const MODULE_NAMES_FIELD = { kind: ["string[]", "string"], default: null, nullable: true, check: moduleNamesProblem } as const satisfies Field;

// Typed command-line flags. A command declares its flags once (camelCase keys, --kebab-case on the command
// line); the same table parses argv, reads --config files, and prints the options section of --help, so
// the three never disagree.
import { UsageError } from "./command.js";

export interface Flag<V> {
  readonly kind: "string" | "number" | "boolean" | "list";
  readonly help: string;
  /** The value's name in help ("N", "DIR"). */
  readonly arg?: string;
  /** Turns a command-line string or a config-file value into V; `name` is how errors refer to it. */
  read(value: unknown, name: string): V;
}

export type FlagTable = Record<string, Flag<unknown>>;
export type FlagValues<T extends FlagTable> = { [K in keyof T]?: T[K] extends Flag<infer V> ? V : never };

export const kebab = (camel: string): string => camel.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
export const camel = (name: string): string => name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

export function stringFlag(help: string, opts: { arg?: string; choices?: readonly string[] } = {}): Flag<string> {
  return {
    kind: "string", help, arg: opts.arg ?? "VALUE",
    read(value, name) {
      if (typeof value === "number") value = String(value);
      if (typeof value !== "string" || value === "") throw new UsageError(`${name} needs a text value, got ${JSON.stringify(value)}`);
      if (opts.choices && !opts.choices.includes(value)) throw new UsageError(`${name} must be one of ${opts.choices.join(", ")}, got "${value}"`);
      return value;
    },
  };
}

/** stringFlag with choices, typed as their union. */
export function choiceFlag<C extends string>(help: string, choices: readonly C[], opts: { arg?: string } = {}): Flag<C> {
  return stringFlag(help, { ...opts, choices }) as Flag<C>;
}

export function numberFlag(help: string, opts: { arg?: string; integer?: boolean; min?: number; max?: number } = {}): Flag<number> {
  return {
    kind: "number", help, arg: opts.arg ?? "N",
    read(value, name) {
      const n = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
      const what = `${opts.integer ? "an integer" : "a number"}${opts.min !== undefined ? ` >= ${opts.min}` : ""}${opts.max !== undefined ? ` and <= ${opts.max}` : ""}`;
      const ok = Number.isFinite(n) && (!opts.integer || Number.isInteger(n)) && (opts.min === undefined || n >= opts.min) && (opts.max === undefined || n <= opts.max);
      if (!ok) throw new UsageError(`${name} must be ${what}, got ${JSON.stringify(value)}`);
      return n;
    },
  };
}

export function booleanFlag(help: string): Flag<boolean> {
  return {
    kind: "boolean", help,
    read(value, name) {
      if (value === true || value === "true") return true;
      if (value === false || value === "false") return false;
      throw new UsageError(`${name} is a switch (true or false), got ${JSON.stringify(value)}`);
    },
  };
}

/** Comma-separated on the command line (repeating the flag appends); a list or a string in config files. With
 *  `split: false` each value is one item, kept exactly (spaces, commas): repeat the flag for more. */
export function listFlag<C extends string = string>(help: string, opts: { arg?: string; choices?: readonly C[]; split?: boolean } = {}): Flag<C[]> {
  const split = opts.split ?? true;
  return {
    kind: "list", help, arg: opts.arg ?? (split ? "A,B,..." : "VALUE"),
    read(value, name) {
      const items = Array.isArray(value) ? value.map(String) : typeof value === "string" ? (split ? value.split(",") : [value]) : null;
      if (items === null) throw new UsageError(`${name} needs ${split ? "a comma-separated list" : "a text value"}, got ${JSON.stringify(value)}`);
      const list = split ? items.map((s) => s.trim()).filter(Boolean) : items.filter((s) => s !== "");
      if (list.length === 0) throw new UsageError(`${name} needs at least one value`);
      const choices: readonly string[] | undefined = opts.choices;
      const bad = choices && list.find((s) => !choices.includes(s));
      if (bad) throw new UsageError(`${name}: unknown value "${bad}" (choose from ${choices!.join(", ")})`);
      return list as C[];
    },
  };
}

export interface Parsed<T extends FlagTable> {
  values: FlagValues<T>;
  positionals: string[];
}

/** Parses `--name value`, `--name=value` and bare `--switch`; everything after `--` is positional. */
export function parseFlags<T extends FlagTable>(argv: string[], table: T, opts: { positionals?: boolean } = {}): Parsed<T> {
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (token === "--") { positionals.push(...argv.slice(i + 1)); break; }
    if (!token.startsWith("--") || token === "-") {
      if (token.startsWith("-") && token !== "-" && !/^-\d/.test(token)) throw new UsageError(`unknown option ${token}${suggestion(token, table)}`);
      if (!opts.positionals) throw new UsageError(`unexpected argument "${token}"`);
      positionals.push(token);
      continue;
    }
    const eq = token.indexOf("=");
    const name = eq < 0 ? token.slice(2) : token.slice(2, eq);
    const key = camel(name);
    const flag = table[key];
    if (!flag || name !== kebab(key)) throw new UsageError(`unknown option --${name}${suggestion(name, table)}`);
    let raw: string | boolean;
    if (eq >= 0) raw = token.slice(eq + 1);
    else if (flag.kind === "boolean") raw = true;
    else if (i + 1 < argv.length) raw = argv[++i];
    else throw new UsageError(`--${name} needs a value`);
    const value = flag.read(raw, `--${name}`);
    values[key] = flag.kind === "list" && Array.isArray(values[key]) ? [...(values[key] as string[]), ...(value as string[])] : value;
  }
  return { values: values as FlagValues<T>, positionals };
}

/** Config-file keys (camelCase, kebab-case or snake_case) read through the same table; `source` names the file. */
export function flagsFromObject<T extends FlagTable>(obj: Record<string, unknown>, table: T, source: string): FlagValues<T> {
  const values: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const key = camel(k.replace(/_/g, "-"));
    const flag = table[key];
    if (!flag) throw new UsageError(`${source}: unknown key "${k}"${suggestion(k, table)}`);
    if (v === null || v === undefined) continue;
    values[key] = flag.read(v, `${source}: key "${k}"`);
  }
  return values as FlagValues<T>;
}

/** The options section of a command's help. */
export function flagHelp(table: FlagTable): string {
  const rows = Object.entries(table).map(([k, f]) => [`--${kebab(k)}${f.kind === "boolean" ? "" : ` ${f.arg}`}`, f.help]);
  const width = Math.min(30, Math.max(...rows.map(([l]) => l.length)));
  return rows.map(([l, h]) => (l.length > width ? `  ${l}\n  ${" ".repeat(width)}  ${h}` : `  ${l.padEnd(width)}  ${h}`)).join("\n");
}

function suggestion(name: string, table: FlagTable): string {
  const bare = name.replace(/^-+/, "");
  // A typo is a small share of the name; for short names any suggestion would be a guess.
  let best: string | null = null, bestDistance = Math.max(1, Math.floor(bare.length / 3)) + 1;
  for (const key of Object.keys(table)) {
    const d = editDistance(bare, kebab(key));
    if (d < bestDistance) { best = kebab(key); bestDistance = d; }
  }
  return best ? ` (did you mean --${best}?)` : "";
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}

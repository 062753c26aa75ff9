// --config: a YAML or JSON file whose keys stand in for a command's flags. Flags given on the command line
// win over the file, so one file can hold a run's settings and the command line its variations.
import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { parse as parseYaml } from "yaml";
import { flagsFromObject, parseFlags, stringFlag, type Flag, type FlagTable, type FlagValues, type Parsed } from "./args.js";
import { UsageError } from "./command.js";

export const configFlag: Flag<string> = stringFlag("read flags from a YAML or JSON file (keys are flag names; command-line flags win)", { arg: "FILE" });

export async function readConfigFile(file: string): Promise<Record<string, unknown>> {
  const text = await readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => {
    throw new UsageError(`${file}: ${e.code === "ENOENT" ? "config file not found" : e.message}`);
  });
  let doc: unknown;
  try {
    doc = extname(file).toLowerCase() === ".json" ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new UsageError(`${file}: not valid ${extname(file).toLowerCase() === ".json" ? "JSON" : "YAML"} (${(e as Error).message.split("\n")[0]})`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw new UsageError(`${file}: expected a mapping of flag names to values`);
  return doc as Record<string, unknown>;
}

/** parseFlags plus --config: the file's values under the command line's. */
export async function parseWithConfig<T extends FlagTable & { config: Flag<string> }>(
  argv: string[], table: T, opts: { positionals?: boolean } = {},
): Promise<Parsed<T>> {
  const parsed = parseFlags(argv, table, opts);
  const file = parsed.values.config as string | undefined;
  if (file === undefined) return parsed;
  const { config: _nested, ...fileTable } = table;
  const fromFile = flagsFromObject(await readConfigFile(file), fileTable as FlagTable, file) as FlagValues<T>;
  return { values: { ...fromFile, ...parsed.values }, positionals: parsed.positionals };
}

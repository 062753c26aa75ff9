// What a bench suite's argument parser does with an argument it has no case for: --help prints the suite's usage,
// which is the comment block at the top of its file (one text, so the two cannot drift apart), and exits 0;
// anything else is one line naming the argument and the file, exit status 2.
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";

export const isHelp = (arg: string) => arg === "--help" || arg === "-h";

/** The leading `//` comment block of a bench file, without the comment markers. */
export function usageOf(fileUrl: string): string {
  const lines = readFileSync(fileURLToPath(fileUrl), "utf8").split("\n");
  const end = lines.findIndex((l) => !l.startsWith("//"));
  return lines.slice(0, end).map((l) => l.replace(/^\/\/ ?/, "")).join("\n");
}

/** The last branch of a suite's flag loop: `fileUrl` is the suite's import.meta.url. */
export function otherArgument(fileUrl: string, arg: string): never {
  if (isHelp(arg)) {
    console.log(usageOf(fileUrl));
    process.exit(0);
  }
  console.error(`${relative(process.cwd(), fileURLToPath(fileUrl))}: unknown argument ${arg} (--help lists the options)`);
  process.exit(2);
}

/** A flag's value that must be one of `choices`; anything else is refused naming the flag, not read as a default. */
export function oneOf<const T extends string>(flag: string, value: string | undefined, choices: readonly T[]): T {
  if (!choices.includes(value as T)) throw new Error(`bench: ${flag} takes ${choices.join(" or ")}, got ${value ?? "nothing"}`);
  return value as T;
}

#!/usr/bin/env node
// The `finetune` command line: dispatches to one command per file under ./commands.
import { doctor } from "./commands/doctor.js";
import { type Command, UsageError } from "./command.js";

const commands: Command[] = [doctor];

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    "Usage: finetune <command> [options]",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Run `finetune <command> --help` for a command's options and examples.",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name ? 0 : 1;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    console.error(`finetune: unknown command "${name}".\n\n${usage()}`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(cmd.help);
    return 0;
  }
  try {
    return (await cmd.run(rest)) ?? 0;
  } catch (e) {
    if (process.env.FINETUNE_DEBUG) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    console.error(`finetune ${name}: ${msg}${e instanceof UsageError ? `\nRun \`finetune ${name} --help\` for usage.` : ""}`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; });

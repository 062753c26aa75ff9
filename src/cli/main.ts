// The `finetune` command line: dispatches to one command per file under ./commands. Importing this module
// runs nothing (tests call main directly); ./bin.ts is the executable.
import { chat } from "./commands/chat.js";
import { compare } from "./commands/compare.js";
import { doctor } from "./commands/doctor.js";
import { evaluate } from "./commands/eval.js";
import { exportCommand } from "./commands/export.js";
import { generate } from "./commands/generate.js";
import { merge } from "./commands/merge.js";
import { predict } from "./commands/predict.js";
import { pretrain } from "./commands/pretrain.js";
import { train } from "./commands/train.js";
import { fileSystemError } from "../io/errors.js";
import { setWarningHandler } from "../warnings/index.js";
import { Interrupted, UsageError, type Command } from "./command.js";
import { info } from "./output.js";

export const commands: Command[] = [train, evaluate, predict, generate, chat, merge, compare, exportCommand, pretrain, doctor];

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    "Usage: finetune <command> [options]",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Run `finetune <command> --help` for a command's options and examples.",
    "Set FINETUNE_DEBUG=1 to see stack traces of errors.",
  ].join("\n");
}

/** System error codes of a network that is down or a host that cannot be reached. */
const NETWORK_CODES = new Set(["ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENETUNREACH", "EHOSTUNREACH"]);

function describe(e: unknown): string {
  const msg = (e instanceof Error ? e.message : String(e)).trim().replace(/\s*\n\s*/g, " ");
  // The hub is the only thing the CLI reaches over the network.
  const { code, path, syscall } = e as NodeJS.ErrnoException;
  if (NETWORK_CODES.has(code ?? "")) {
    return `cannot reach the Hugging Face Hub (${msg}); check the network, or set HF_HUB_OFFLINE=1 to use only cached files`;
  }
  // A file-system error the code did not word itself: the path and the problem in words, not "ENOENT: ..., mkdir".
  if (path !== undefined) {
    const worded = fileSystemError(e, path, syscall ?? "accessing it");
    if (worded !== e) return (worded as Error).message;
  }
  return msg;
}

/** Runs one command line; returns the exit code. Errors become one line on stderr. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name ? 0 : 1;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    console.error(`finetune: unknown command "${name}" (commands: ${commands.map((c) => c.name).join(", ")})`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(cmd.help);
    return 0;
  }
  // The library's warnings, once each, as one plain line among the command's own (the rest of a long message is
  // transformers' generic advice).
  setWarningHandler((message) => info(`warning: ${message.split("\n")[0]}`));
  try {
    return (await cmd.run(rest)) ?? 0;
  } catch (e) {
    if (process.env.FINETUNE_DEBUG) console.error(e);
    const msg = describe(e);
    if (e instanceof Interrupted) {
      console.error(`finetune ${name}: ${msg}`);
      return 130;
    }
    console.error(`finetune ${name}: ${msg}${e instanceof UsageError ? ` (see finetune ${name} --help)` : ""}`);
    return e instanceof UsageError ? 2 : 1;
  }
}

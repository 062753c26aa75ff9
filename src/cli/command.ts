// A command: its name, a one-line summary, full help with examples, and a run function taking argv.
export interface Command {
  name: string;
  summary: string;
  help: string;
  run(argv: string[]): Promise<number | void>;
}

/** An error meant for the user: printed as one sentence, no stack trace. */
export class UsageError extends Error {}

/** Training stopped by Ctrl-C / SIGTERM after saving a checkpoint: not a failure, but not a finished run. */
export class Interrupted extends Error {}

// Library warnings (rows cut to maxLength, weights a checkpoint lacked, a slower backend) go through one handler
// the application controls. A library user gets Node's process warnings; the CLI prints one plain line each.
// Every distinct warning is passed on once per process, because the same condition found again (the same split
// tokenized for a second method) tells the reader nothing new.

/** Receives each distinct warning once; `code` names its kind (FINETUNE_TRUNCATION, FINETUNE_WEIGHTS, ...). */
export type WarningHandler = (message: string, code: string) => void;

const processWarning: WarningHandler = (message, code) => process.emitWarning(message, { code });

let handler: WarningHandler = processWarning;
const seen = new Set<string>();

/** Sends later warnings to `h` (null: back to process warnings) and forgets which were already shown. */
export function setWarningHandler(h: WarningHandler | null): void {
  handler = h ?? processWarning;
  seen.clear();
}

export function warn(message: string, code: string): void {
  const key = `${code}\n${message}`;
  if (seen.has(key)) return;
  seen.add(key);
  handler(message, code);
}

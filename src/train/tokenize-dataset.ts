// Tokenizes a dataset once, before training, so no step waits on the tokenizer. Results can be cached on disk
// under a hash of the tokenizer files, the settings and the rows, so a second run skips the work.
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { IGNORE_INDEX, type Example } from "../data/collate.js";
import { conversationOf, type Turn } from "../data/conversations.js";
import { recordSource } from "../data/records.js";
import { writeFileAtomic } from "../io/atomic.js";
import type { PreTrainedTokenizer } from "../tokenizers/index.js";
import { charBudget, cutToChars } from "../tokenizers/char-budget.js";
import { warn } from "../warnings/index.js";

/** Conversation rows also need the chat template (applyChatTemplate, chatTemplate). */
export type TokenizerLike = Pick<PreTrainedTokenizer, "call" | "eosTokenId" | "length" | "allSpecialTokens">
  & Partial<Pick<PreTrainedTokenizer, "applyChatTemplate" | "chatTemplate" | "chatTurnEnd" | "fitToTokenBudget">>;

export interface TokenizeOptions {
  maxLength: number;
  /** classification (the default): `{text, textPair?, label}` rows. causal-lm: conversations (`messages` or
   *  ShareGPT `conversations`, rendered with the chat template; loss on the assistant turns only), `{prompt,
   *  completion}` rows (loss on the completion only) or `{text}` rows (loss on every token). */
  task?: "classification" | "causal-lm";
  textColumn?: string;
  textPairColumn?: string;
  labelColumn?: string;
  promptColumn?: string;
  completionColumn?: string;
  /** causal-lm: append the EOS token to prompt/completion and text rows so the model learns to stop (default true;
   *  conversations end each turn as their template does). */
  addEos?: boolean;
  /** causal-lm: take the loss on prompts and on every turn of a conversation too (default false). */
  trainOnPrompt?: boolean;
  /** Reuse tokenized data across runs: `tokenizerDir` holds the tokenizer's files, whose bytes key the cache. */
  cache?: { dir: string; tokenizerDir: string };
  /** Receives the one warning about rows cut to maxLength (and, for causal-lm, dropped, with where they are);
   *  default the library's warning handler (setWarningHandler). */
  onWarning?: (message: string) => void;
  /** What the rows are, to start that warning with (default "tokenizeDataset"). */
  label?: string;
}

/** Any object with the named columns: loadDataFiles rows ({text, textPair?, label}), readRecords records, ... */
type Row = object;

function field(row: Row, col: string): unknown {
  return (row as Record<string, unknown>)[col];
}

const CHUNK_ROWS = 1000;
const CACHE_FORMAT = 1;

export async function tokenizeDataset(tokenizer: TokenizerLike, rows: readonly Row[], opts: TokenizeOptions): Promise<Example[]> {
  if (!Number.isInteger(opts.maxLength) || opts.maxLength < 1) throw new RangeError(`maxLength must be a positive integer, got ${opts.maxLength}`);
  const cacheFile = opts.cache ? join(opts.cache.dir, `${await cacheKey(tokenizer, rows, opts)}.json`) : null;
  if (cacheFile) {
    const hit = await readFile(cacheFile, "utf8").catch(() => null);
    if (hit !== null) return JSON.parse(hit) as Example[];
  }
  const examples: Example[] = [];
  const stats: Stats = { truncated: 0, cut: [], dropped: [], unlocatedTurns: 0, unlocatedRows: [], conversations: 0, longTexts: 0 };
  for (let s = 0; s < rows.length; s += CHUNK_ROWS) {
    const chunk = rows.slice(s, s + CHUNK_ROWS);
    examples.push(...(opts.task === "causal-lm" ? await tokenizeLm(tokenizer, chunk, s, opts, stats) : await tokenizeClassification(tokenizer, chunk, s, opts, stats)));
  }
  if (opts.task === "causal-lm" && examples.length === 0 && rows.length > 0) {
    throw new Error(`tokenizeDataset: no row has a token to learn: ${stats.dropped.slice(0, 3).map((d) => `${d.where}: ${d.reason}`).join("; ")}`);
  }
  // One warning for the whole dataset, never one per row, and never silence: cut text changes what is learned.
  const notes: string[] = [];
  if (stats.longTexts > 0) notes.push(`${stats.longTexts} texts longer than ${charBudget(opts.maxLength)} characters were cut before tokenizing (only their first ${opts.maxLength} tokens can be kept)`);
  if (stats.truncated > 0) notes.push(`truncated ${stats.truncated} of ${rows.length} rows to maxLength ${opts.maxLength} tokens (raise maxLength / --max-length to keep more)${places(stats.cut)}`);
  if (stats.dropped.length > 0) {
    const reasons = [...new Set(stats.dropped.map((d) => d.reason))];
    notes.push(`dropped ${stats.dropped.length} of ${rows.length} rows: ${reasons.map((r) => `${r}${places(stats.dropped.filter((d) => d.reason === r).map((d) => d.where))}`).join("; ")}`);
  }
  if (stats.unlocatedTurns > 0) {
    notes.push(`${stats.unlocatedTurns} assistant turns in ${stats.unlocatedRows.length} rows are not trained on: the chat template renders the ` +
      `conversation before them, or up to them, differently from the whole conversation${places(stats.unlocatedRows)}`);
  }
  if (stats.conversations > 0 && (await tokenizer.chatTurnEnd?.())?.text === "") {
    notes.push("the chat template writes nothing after an assistant turn, so the model cannot learn where a reply ends " +
      "(use a template that closes turns with an end-of-turn token, e.g. --chat-template FILE)");
  }
  if (notes.length) (opts.onWarning ?? ((m: string) => warn(m, "FINETUNE_TRUNCATION")))(`${opts.label ?? "tokenizeDataset"}: ${notes.join("; ")}`);
  if (cacheFile) {
    await mkdir(opts.cache!.dir, { recursive: true });
    await writeFileAtomic(cacheFile, JSON.stringify(examples));
  }
  return examples;
}

interface Stats {
  truncated: number;
  /** Where the truncated causal-LM rows are. */
  cut: string[];
  dropped: { where: string; reason: string }[];
  unlocatedTurns: number;
  unlocatedRows: string[];
  conversations: number;
  /** Texts cut to a character budget before tokenizing. */
  longTexts: number;
}

/** The texts cut to what maxLength tokens can use (see PreTrainedTokenizer.fitToTokenBudget), counted in stats. */
async function fit(tokenizer: TokenizerLike, texts: string[], opts: TokenizeOptions, stats: Stats): Promise<string[]> {
  if (!tokenizer.fitToTokenBudget || texts.every((t) => t.length <= charBudget(opts.maxLength))) return texts;
  const cut = await tokenizer.fitToTokenBudget(texts, opts.maxLength);
  stats.longTexts += cut.filter((t, i) => t.length < texts[i]!.length).length;
  return cut;
}

const SHOWN_PLACES = 5;

/** " (train.jsonl:3, train.jsonl:9, ... and 12 more)" */
function places(where: string[]): string {
  if (where.length === 0) return "";
  const more = where.length > SHOWN_PLACES ? ` and ${where.length - SHOWN_PLACES} more` : "";
  return ` (${where.slice(0, SHOWN_PLACES).join(", ")}${more})`;
}

/** A row's "file:line" when it came from readRecords, else its index. */
function locate(row: Row, index: number): string {
  return recordSource(row) ?? `row ${index}`;
}

async function tokenizeClassification(tokenizer: TokenizerLike, rows: readonly Row[], offset: number, opts: TokenizeOptions, stats: Stats): Promise<Example[]> {
  const textCol = opts.textColumn ?? "text", pairCol = opts.textPairColumn ?? "textPair", labelCol = opts.labelColumn ?? "label";
  const texts = await fit(tokenizer, rows.map((r, i) => stringField(r, textCol, offset + i)), opts, stats);
  const withPair = rows.filter((r) => field(r, pairCol) !== undefined).length;
  if (withPair !== 0 && withPair !== rows.length) throw new Error(`tokenizeDataset: only some rows have a "${pairCol}" column`);
  const pairs = withPair ? await fit(tokenizer, rows.map((r, i) => stringField(r, pairCol, offset + i)), opts, stats) : undefined;
  const enc = await tokenizer.call(texts, { textPair: pairs, truncation: true, maxLength: opts.maxLength, returnTokenTypeIds: pairs !== undefined });
  stats.truncated += await countTruncated(tokenizer, texts, pairs, enc.inputIds, opts.maxLength);
  return rows.map((r, i) => {
    const label = field(r, labelCol);
    if (!Number.isInteger(label)) throw new Error(`tokenizeDataset: row ${offset + i} has label ${JSON.stringify(label)}; expected an integer class id in "${labelCol}"`);
    const ex: Example = { inputIds: enc.inputIds[i], label: label as number };
    if (pairs) ex.tokenTypeIds = enc.tokenTypeIds![i];
    return ex;
  });
}

async function tokenizeLm(tokenizer: TokenizerLike, rows: readonly Row[], offset: number, opts: TokenizeOptions, stats: Stats): Promise<Example[]> {
  const promptCol = opts.promptColumn ?? "prompt", completionCol = opts.completionColumn ?? "completion", textCol = opts.textColumn ?? "text";
  const eos = opts.addEos === false ? [] : [eosId(tokenizer)];
  const conversations = await Promise.all(rows.map(async (r, i) => {
    const turns = conversationOf(r as Record<string, unknown>, locate(r, offset + i));
    if (!turns) return turns;
    const contents = await fit(tokenizer, turns.map((t) => t.content), opts, stats);
    return turns.map((t, k) => (contents[k] === t.content ? t : { ...t, content: contents[k]! }));
  }));
  stats.conversations += conversations.filter((c) => c !== null).length;
  const isPair = rows.map((r, i) => !conversations[i] && field(r, promptCol) !== undefined);
  const pairIdx = rows.flatMap((_, i) => (isPair[i] ? [i] : []));
  const textIdx = rows.flatMap((_, i) => (isPair[i] || conversations[i] ? [] : [i]));
  const strings = (idx: number[], col: string) => fit(tokenizer, idx.map((i) => stringField(rows[i], col, offset + i)), opts, stats);
  const [prompts, completions, texts] = await Promise.all([
    encodeAll(tokenizer, await strings(pairIdx, promptCol), true),
    encodeAll(tokenizer, await strings(pairIdx, completionCol), false),
    encodeAll(tokenizer, await strings(textIdx, textCol), true),
  ]);
  const built = new Array<Example | string>(rows.length);
  pairIdx.forEach((i, k) => {
    const answer = [...completions[k], ...eos];
    const prompt = opts.trainOnPrompt ? prompts[k] : prompts[k].map(() => IGNORE_INDEX);
    built[i] = { inputIds: [...prompts[k], ...answer], labels: [...prompt, ...answer] };
  });
  textIdx.forEach((i, k) => {
    const ids = [...texts[k], ...eos];
    built[i] = { inputIds: ids, labels: [...ids] };
  });
  await Promise.all(conversations.map(async (turns, i) => {
    if (turns) built[i] = await conversationExample(tokenizer, turns, opts, stats, locate(rows[i], offset + i));
  }));
  const out: Example[] = [];
  built.forEach((e, i) => {
    const where = locate(rows[i], offset + i);
    if (typeof e === "string") {
      stats.dropped.push({ where, reason: e });
      return;
    }
    if (e.inputIds.length > opts.maxLength) {
      stats.truncated++;
      stats.cut.push(where);
    }
    const cut = { inputIds: e.inputIds.slice(0, opts.maxLength), labels: e.labels!.slice(0, opts.maxLength) };
    // The model predicts token t+1 from position t, so the first label never counts.
    if (cut.labels.slice(1).some((l) => l !== IGNORE_INDEX)) out.push(cut);
    else stats.dropped.push({ where, reason: e.labels!.slice(1).some((l) => l !== IGNORE_INDEX) ? `no token to learn left after truncation to ${opts.maxLength}` : "no token to learn" });
  });
  return out;
}

/** A conversation rendered with the chat template; labels on the assistant turns (every token with trainOnPrompt),
 *  or why the row has nothing to learn. */
async function conversationExample(tokenizer: TokenizerLike, turns: Turn[], opts: TokenizeOptions, stats: Stats, where: string): Promise<Example | string> {
  if (!tokenizer.applyChatTemplate) throw new Error(`${where}: conversation rows need a tokenizer with a chat template`);
  if (!turns.some((t) => t.role === "assistant")) return "no assistant turn";
  let enc;
  try {
    enc = await tokenizer.applyChatTemplate(turns, { returnAssistantTokensMask: true });
  } catch (e) {
    const message = (e as Error).message;
    // No template at all is the user's setup, not a bad row.
    if (/has no chat template/.test(message)) throw new Error(`${where}: ${message}`);
    return message;
  }
  if (enc.unlocatedTurns.length > 0) {
    stats.unlocatedTurns += enc.unlocatedTurns.length;
    stats.unlocatedRows.push(where);
  }
  if (!opts.trainOnPrompt && !enc.assistantMasks.includes(1)) {
    return enc.unlocatedTurns.length > 0 ? "no assistant turn could be located in the chat template's rendering" : "no token to learn";
  }
  const labels = enc.inputIds.map((id, t) => (opts.trainOnPrompt || enc.assistantMasks[t] === 1 ? id : IGNORE_INDEX));
  return { inputIds: enc.inputIds, labels };
}

/**
 * How many rows truncation shortened. A truncated row comes out exactly maxLength long, so only rows of that length
 * are encoded again without truncation to tell them from rows that fit exactly; the common case costs nothing.
 */
export async function countTruncated(
  tokenizer: Pick<TokenizerLike, "call">, texts: readonly string[], pairs: readonly string[] | undefined, ids: readonly (readonly number[])[], maxLength: number,
): Promise<number> {
  const full = ids.flatMap((row, i) => (row.length >= maxLength ? [i] : []));
  if (full.length === 0) return 0;
  // Cut like the truncating call cut them: a text past the budget holds more than maxLength tokens anyway.
  const bounded = (t: string) => cutToChars(t, charBudget(maxLength), "right");
  const again = await tokenizer.call(full.map((i) => bounded(texts[i]!)), {
    textPair: pairs && full.map((i) => bounded(pairs[i]!)), truncation: false, returnTokenTypeIds: false,
  });
  return again.inputIds.filter((row) => row.length > maxLength).length;
}

async function encodeAll(tokenizer: TokenizerLike, texts: string[], addSpecialTokens: boolean): Promise<number[][]> {
  return texts.length ? (await tokenizer.call(texts, { addSpecialTokens, truncation: false, returnTokenTypeIds: false })).inputIds : [];
}

function eosId(tokenizer: TokenizerLike): number {
  const id = tokenizer.eosTokenId;
  if (id === undefined) throw new Error("tokenizeDataset: the tokenizer has no EOS token to end each example; set one or pass addEos: false");
  return id;
}

function stringField(row: Row, col: string, index: number): string {
  const v = field(row, col);
  if (typeof v !== "string") throw new Error(`tokenizeDataset: row ${index} has no string "${col}" column`);
  return v;
}

async function cacheKey(tokenizer: TokenizerLike, rows: readonly Row[], opts: TokenizeOptions): Promise<string> {
  const h = createHash("sha256");
  const { cache, ...settings } = opts;
  h.update(JSON.stringify({ format: CACHE_FORMAT, settings, vocab: tokenizer.length, special: tokenizer.allSpecialTokens, chatTemplate: tokenizer.chatTemplate }));
  const dir = cache!.tokenizerDir;
  for (const name of (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort()) {
    h.update(`\0${name}\0`);
    h.update(await readFile(join(dir, name)));
  }
  for (const r of rows) h.update(`${JSON.stringify(r)}\n`);
  return h.digest("hex").slice(0, 32);
}

// The Hugging Face `tokenizer.json` document, built or patched in plain JS before it reaches the Rust
// binding. Going through JSON (instead of the binding's builder functions) gives one code path for
// every source: the node binding has no ByteLevel decoder builder and no way to set a BPE model's
// options field by field, while the JSON form covers everything the Rust side can deserialize.
import tokenizers from "tokenizers";
import type { Tokenizer } from "tokenizers";
import { backtrackingRisk } from "../io/untrusted-regex.js";

export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

export interface ModelJson {
  type?: string;
  vocab?: unknown;
  merges?: unknown;
  unk_token?: string | null;
  [key: string]: unknown;
}

export interface TokenizerJson {
  version: string;
  truncation: unknown;
  padding: unknown;
  added_tokens: AddedTokenJson[];
  normalizer: unknown;
  pre_tokenizer: unknown;
  post_processor: unknown;
  decoder: unknown;
  model: ModelJson;
  [key: string]: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Parses a tokenizer.json text; every failure names `file`. */
export function parseTokenizerJson(text: string, file: string): TokenizerJson {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(doc) || !isObject(doc.model)) throw new Error(`${file}: not a tokenizer.json (no "model" object)`);
  if (doc.added_tokens !== undefined && !Array.isArray(doc.added_tokens)) {
    throw new Error(`${file}: "added_tokens" must be an array`);
  }
  // The JS side reads these before the Rust side validates the document; the rest is left to it.
  const badToken = ((doc.added_tokens ?? []) as unknown[]).findIndex((t) => !isObject(t) || typeof t.content !== "string" || !Number.isInteger(t.id));
  if (badToken >= 0) {
    throw new Error(`${file}: added_tokens[${badToken}] must be an object with a string "content" and an integer "id", got ${JSON.stringify((doc.added_tokens as unknown[])[badToken])}`);
  }
  const model = doc.model as ModelJson;
  checkVocab(model.vocab, file);
  // The Hub still serves bert-base-uncased and gpt2 in the older layout whose model has no "type".
  model.type ??= inferModelType(model, file);
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    ...doc,
    added_tokens: (doc.added_tokens as AddedTokenJson[] | undefined) ?? [],
    model,
  };
}

/** model.vocab: an object of token -> id (WordPiece, BPE, WordLevel) or a list of [token, score] pairs (Unigram). */
function checkVocab(vocab: unknown, file: string): void {
  if (vocab === undefined) return;
  if (Array.isArray(vocab)) {
    const bad = vocab.findIndex((e) => !Array.isArray(e) || typeof e[0] !== "string" || typeof e[1] !== "number");
    if (bad >= 0) throw new Error(`${file}: model.vocab[${bad}] must be a [token, score] pair, got ${JSON.stringify(vocab[bad])}`);
    return;
  }
  if (!isObject(vocab)) throw new Error(`${file}: model.vocab must be an object of token -> id or a list of [token, score] pairs`);
  for (const [token, id] of Object.entries(vocab)) {
    if (!Number.isInteger(id) || (id as number) < 0) throw new Error(`${file}: model.vocab maps ${JSON.stringify(token)} to ${JSON.stringify(id)}, not a token id`);
  }
}

function inferModelType(model: ModelJson, file: string): string {
  if ("continuing_subword_prefix" in model && "max_input_chars_per_word" in model) return "WordPiece";
  if ("merges" in model) return "BPE";
  if (Array.isArray(model.vocab)) return "Unigram";
  throw new Error(
    `${file}: the "model" object has no "type", and its keys (${Object.keys(model).join(", ")}) ` +
      "match neither WordPiece (continuing_subword_prefix + max_input_chars_per_word) nor BPE (merges)",
  );
}

/** Token ids beyond this are a corrupt or hostile file (config.json's vocab_size has the same bound). */
export const MAX_TOKEN_ID = 10_000_000;

/**
 * What the Rust library cannot be trusted to survive: regular expressions it would run on a backtracking engine that
 * aborts the process when it gives up (Split and Replace patterns anywhere in the pipeline), and ids that make it
 * allocate by the largest id rather than by the number of tokens. Ids must stay below twice the number of tokens
 * plus 1,024 (a vocabulary may have holes, not a gap of billions), and a post-processor may only emit ids that exist.
 */
export function checkUntrustedParts(doc: TokenizerJson, source: string): void {
  for (const part of ["normalizer", "pre_tokenizer", "post_processor", "decoder"]) {
    walk(doc[part], part, (value, path) => {
      if (!isObject(value) || typeof value.Regex !== "string") return;
      const risk = backtrackingRisk(value.Regex);
      if (risk) throw new Error(`${source}: ${path}.Regex ${JSON.stringify(value.Regex.slice(0, 80))} ${risk}; refused, since the tokenizers library would hang or abort on some texts`);
    });
  }
  const vocab = modelVocab(doc.model);
  const count = vocab.size + doc.added_tokens.length;
  const limit = Math.min(2 * count + 1024, MAX_TOKEN_ID);
  const tooLarge = (id: number) => id >= limit;
  for (const [token, id] of vocab) {
    if (tooLarge(id)) throw new Error(`${source}: model.vocab maps ${JSON.stringify(token.slice(0, 40))} to id ${id}, out of proportion to the ${count} tokens (ids must be below ${limit})`);
  }
  doc.added_tokens.forEach((t, k) => {
    if (t.id < 0 || tooLarge(t.id)) throw new Error(`${source}: added_tokens[${k}] has id ${t.id}, out of proportion to the ${count} tokens (ids must be in [0, ${limit}))`);
  });
  const known = new Set([...vocab.values(), ...doc.added_tokens.map((t) => t.id)]);
  walk(doc.post_processor, "post_processor", (value, path) => {
    const ids = isObject(value) && Array.isArray(value.ids) ? value.ids
      : /\.(sep|cls)$/.test(path) && Array.isArray(value) ? [value[1]] : [];
    const bad = ids.find((id) => !Number.isInteger(id) || !known.has(id as number));
    if (bad !== undefined) throw new Error(`${source}: ${path} adds token id ${JSON.stringify(bad)}, which is not in the vocabulary`);
  });
}

/** Calls `visit` on `value` and everything inside it, with a path such as pre_tokenizer.pretokenizers[1]. */
function walk(value: unknown, path: string, visit: (value: unknown, path: string) => void): void {
  visit(value, path);
  if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${path}[${i}]`, visit));
  else if (isObject(value)) for (const [k, v] of Object.entries(value)) walk(v, `${path}.${k}`, visit);
}

/** The Rust tokenizer for `doc`; `source` names the file(s) it came from in the error. */
export function tokenizerFromJson(doc: TokenizerJson, source: string): Tokenizer {
  checkUntrustedParts(doc, source);
  try {
    return tokenizers.Tokenizer.fromString(JSON.stringify(doc));
  } catch (e) {
    throw new Error(`${source}: the tokenizers library rejected it: ${(e as Error).message}`);
  }
}

/** token -> id of the model's own vocabulary (added tokens not included). */
export function modelVocab(model: ModelJson): Map<string, number> {
  if (Array.isArray(model.vocab)) {
    return new Map(model.vocab.map((entry, id) => [String((entry as unknown[])[0]), id]));
  }
  return new Map(Object.entries(isObject(model.vocab) ? (model.vocab as Record<string, number>) : {}));
}

export function specialAddedToken(content: string, id: number): AddedTokenJson {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

/**
 * Registers `contents` as special added tokens, so the tokenizer never splits them. A token already in
 * the model vocabulary keeps its id; a new one gets the next free id, which is what the Rust side assigns
 * when it reads the list back.
 */
export function ensureSpecialTokens(doc: TokenizerJson, contents: Iterable<string>): void {
  const vocab = modelVocab(doc.model);
  const present = new Set(doc.added_tokens.map((t) => t.content));
  let nextId = vocab.size;
  for (const id of [...vocab.values(), ...doc.added_tokens.map((t) => t.id)]) nextId = Math.max(nextId, id + 1);
  for (const content of contents) {
    if (present.has(content)) continue;
    present.add(content);
    doc.added_tokens.push(specialAddedToken(content, vocab.get(content) ?? nextId++));
  }
}

/**
 * A TemplateProcessing post-processor from HF's template syntax, e.g. "[CLS]:0 $A:0 [SEP]:0".
 * `ids` gives the id of every special token the templates mention.
 */
export function templateProcessing(single: string, pair: string, ids: Record<string, number>): unknown {
  const pieces = (template: string) =>
    template
      .split(" ")
      .filter((p) => p !== "")
      .map((piece) => {
        const m = /^(.*?)(?::(\d+))?$/.exec(piece)!;
        const typeId = Number(m[2] ?? 0);
        if (m[1] === "$" || m[1] === "$A" || m[1] === "$B") {
          return { Sequence: { id: m[1] === "$B" ? "B" : "A", type_id: typeId } };
        }
        return { SpecialToken: { id: m[1], type_id: typeId } };
      });
  const specialTokens = Object.fromEntries(
    Object.entries(ids).map(([token, id]) => [token, { id: token, ids: [id], tokens: [token] }]),
  );
  return { type: "TemplateProcessing", single: pieces(single), pair: pieces(pair), special_tokens: specialTokens };
}

/** A BERT tokenizer as HF's BertConverter builds it from vocab.txt. */
export function wordPieceTokenizerJson(opts: {
  vocab: Record<string, number>;
  unkToken: string;
  lowercase: boolean;
  stripAccents: boolean | null;
  handleChineseChars: boolean;
  clsToken?: string;
  sepToken?: string;
}): TokenizerJson {
  const { vocab, clsToken, sepToken } = opts;
  const withTemplate = clsToken !== undefined && sepToken !== undefined && clsToken in vocab && sepToken in vocab;
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: {
      type: "BertNormalizer",
      clean_text: true,
      handle_chinese_chars: opts.handleChineseChars,
      strip_accents: opts.stripAccents,
      lowercase: opts.lowercase,
    },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: withTemplate
      ? templateProcessing(`${clsToken}:0 $A:0 ${sepToken}:0`, `${clsToken}:0 $A:0 ${sepToken}:0 $B:1 ${sepToken}:1`, {
          [clsToken]: vocab[clsToken]!,
          [sepToken]: vocab[sepToken]!,
        })
      : null,
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: opts.unkToken,
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab,
    },
  };
}

/** A GPT-2 style byte-level BPE tokenizer, as HF's GPT2Converter builds it from vocab.json + merges.txt. */
export function byteLevelBpeTokenizerJson(opts: {
  vocab: Record<string, number>;
  merges: [string, string][];
  addPrefixSpace: boolean;
}): TokenizerJson {
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: opts.addPrefixSpace, trim_offsets: true, use_regex: true },
    post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      vocab: opts.vocab,
      merges: opts.merges,
    },
  };
}

/** vocab.txt: one token per line, the id is the line index. */
export function parseVocabTxt(text: string, file: string): Record<string, number> {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const vocab: Record<string, number> = {};
  lines.forEach((line, id) => {
    const token = line.endsWith("\r") ? line.slice(0, -1) : line;
    if (Object.hasOwn(vocab, token)) throw new Error(`${file}:${id + 1}: duplicate token ${JSON.stringify(token)}`);
    vocab[token] = id;
  });
  if (lines.length === 0) throw new Error(`${file}: empty vocabulary`);
  return vocab;
}

export function parseVocabJson(text: string, file: string): Record<string, number> {
  let vocab: unknown;
  try {
    vocab = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(vocab) || Object.values(vocab).some((id) => !Number.isInteger(id))) {
    throw new Error(`${file}: expected an object mapping each token to an integer id`);
  }
  return vocab as Record<string, number>;
}

/** merges.txt: an optional "#version" header, then one "left right" pair per line. */
export function parseMergesTxt(text: string, file: string): [string, string][] {
  const merges: [string, string][] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line === "" || (i === 0 && line.startsWith("#version"))) return;
    const parts = line.split(" ");
    if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
      throw new Error(`${file}:${i + 1}: expected two space-separated tokens, got ${JSON.stringify(line)}`);
    }
    merges.push([parts[0]!, parts[1]!]);
  });
  return merges;
}

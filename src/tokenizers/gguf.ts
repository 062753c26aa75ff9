// Tokenizers in llama.cpp's GGUF metadata (tokenizer.ggml.*), both ways. Two kinds cover the Llama family and
// GPT-2: "gpt2" (byte-level BPE: tokens, merges, and `pre` naming the word-splitting regex llama.cpp compiles in)
// and "llama" (SentencePiece BPE over "▁"-joined text with <0xXX> byte fallback: tokens ranked by score).
import { array, bool, GgufValueType, str, u32, type GgufEntry, type GgufMetadata } from "../io/gguf.js";
import type { JsonObject } from "./config.js";
import type { PreTrainedTokenizer } from "./pretrained-tokenizer.js";
import { modelVocab, templateProcessing, type AddedTokenJson, type TokenizerJson } from "./tokenizer-json.js";

// llama.cpp's token types (llama_token_type / gguf TokenType).
const NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;
const SPACE = "\u2581";
const BYTE_TOKEN = /^<0x[0-9A-Fa-f]{2}>$/;

// The word-splitting regexes of the byte-level BPE pre-tokenizers llama.cpp knows, by its `pre` name. "gpt-2" is
// the ByteLevel pre-tokenizer's own regex (use_regex: true).
const BPE_SPLITS: Record<string, string | null> = {
  "gpt-2": null,
  "llama-bpe": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  qwen2: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
};

type Obj = Record<string, unknown>;
type ModelParts = Pick<TokenizerJson, "normalizer" | "pre_tokenizer" | "decoder" | "model">;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** The steps of a normalizer / pre-tokenizer / decoder, flattening "Sequence". */
function steps(component: unknown, listKey: string): Obj[] {
  if (!isObj(component)) return [];
  if (component.type === "Sequence" && Array.isArray(component[listKey])) return (component[listKey] as unknown[]).flatMap((c) => steps(c, listKey));
  return [component];
}

export interface TokenizerToGgufOptions {
  /** Rows of the model's embedding matrix; ids past the tokenizer's get placeholder tokens, as the converter does. */
  vocabSize: number;
  onWarning?: (message: string) => void;
}

/**
 * tokenizer.* metadata for a tokenizer saved by savePretrained (`doc`: its tokenizer.json, `config`: its
 * tokenizer_config.json), in the order llama.cpp's converter writes them.
 */
export async function tokenizerToGguf(tokenizer: PreTrainedTokenizer, doc: TokenizerJson, config: JsonObject, opts: TokenizerToGgufOptions): Promise<[string, GgufEntry][]> {
  const kind = ggufKind(doc);
  const vocab = modelVocab(doc.model);
  const added = new Map(doc.added_tokens.map((t) => [t.id, t]));
  const byId = new Map<number, string>();
  for (const [token, id] of vocab) byId.set(id, token);
  for (const t of doc.added_tokens) byId.set(t.id, t.content);
  let n = opts.vocabSize;
  for (const id of byId.keys()) n = Math.max(n, id + 1);
  if (n > opts.vocabSize) throw new Error(`the tokenizer has ids up to ${n - 1} but the model's embeddings have only ${opts.vocabSize} rows`);
  const specialIds = new Set(tokenizer.allSpecialIds);
  const tokens: string[] = [];
  const types: number[] = [];
  for (let id = 0; id < n; id++) {
    const token = byId.get(id);
    const a = added.get(id);
    tokens.push(token ?? `[PAD${id}]`);
    if (token === undefined) types.push(kind === "llama" ? UNUSED : USER_DEFINED);
    else if (kind === "llama" && id === tokenizer.unkTokenId) types.push(UNKNOWN);
    // The converter's LlamaHfVocab marks every special token (bos, eos, ...) as control, whatever its added_tokens flag.
    else if (a) types.push(a.special || (kind === "llama" && specialIds.has(id)) ? CONTROL : USER_DEFINED);
    else if (kind === "llama" && BYTE_TOKEN.test(token)) types.push(BYTE);
    else types.push(NORMAL);
  }
  const merges = mergePairs(doc.model.merges);
  const out: [string, GgufEntry][] = [["tokenizer.ggml.model", str(kind)]];
  if (kind === "gpt2") {
    out.push(["tokenizer.ggml.pre", str(bpePre(doc, opts.onWarning))]);
    out.push(["tokenizer.ggml.tokens", array(GgufValueType.STRING, tokens)]);
    out.push(["tokenizer.ggml.token_type", array(GgufValueType.INT32, types)]);
    // A space inside a merge part would split the "a b" line; the converter writes it as U+0120, as the byte encoder does.
    const escape = (s: string) => s.replaceAll(" ", "\u0120");
    out.push(["tokenizer.ggml.merges", array(GgufValueType.STRING, merges.map(([a, b]) => `${escape(a)} ${escape(b)}`))]);
  } else {
    out.push(["tokenizer.ggml.pre", str("default")]);
    out.push(["tokenizer.ggml.tokens", array(GgufValueType.STRING, tokens)]);
    out.push(["tokenizer.ggml.scores", array(GgufValueType.FLOAT32, mergeScores(tokens, types, merges))]);
    out.push(["tokenizer.ggml.token_type", array(GgufValueType.INT32, types)]);
  }
  const ids: [string, number | undefined][] = [
    ["bos", tokenizer.bosTokenId], ["eos", tokenizer.eosTokenId], ["unknown", tokenizer.unkTokenId], ["padding", tokenizer.padTokenId],
  ];
  for (const [role, id] of ids) if (id !== undefined) out.push([`tokenizer.ggml.${role}_token_id`, u32(id)]);
  // What encoding really adds, whatever said it (tokenizer_config flags or the tokenizer.json template).
  const probe = await tokenizer.encode("a");
  const bare = await tokenizer.encode("a", { addSpecialTokens: false });
  const addsBos = tokenizer.bosTokenId !== undefined && probe.length > bare.length && probe[0] === tokenizer.bosTokenId;
  const addsEos = tokenizer.eosTokenId !== undefined && probe.length > bare.length && probe.at(-1) === tokenizer.eosTokenId;
  out.push(["tokenizer.ggml.add_bos_token", bool(addsBos)], ["tokenizer.ggml.add_eos_token", bool(addsEos)]);
  if (kind === "llama") out.push(["tokenizer.ggml.add_space_prefix", bool(prependsSpace(doc))]);
  out.push(...chatTemplates(config.chat_template));
  return out;
}

function ggufKind(doc: TokenizerJson): "gpt2" | "llama" {
  const type = doc.model.type;
  if (type === "BPE" && doc.model.byte_fallback === true) return "llama";
  if (type === "BPE" && [...steps(doc.pre_tokenizer, "pretokenizers"), ...steps(doc.decoder, "decoders")].some((s) => s.type === "ByteLevel")) return "gpt2";
  throw new Error(`a ${type} tokenizer${type === "BPE" ? " without byte-level or byte-fallback encoding" : ""} cannot be written for llama.cpp; ` +
    "GGUF export supports byte-level BPE (GPT-2, Llama 3, Qwen2) and SentencePiece-style BPE with byte fallback (Llama 2, Mistral)");
}

function bpePre(doc: TokenizerJson, onWarning?: (m: string) => void): string {
  const pre = steps(doc.pre_tokenizer, "pretokenizers");
  const split = pre.find((s) => s.type === "Split");
  const pattern = isObj(split?.pattern) ? split.pattern.Regex : undefined;
  if (!split && pre.some((s) => s.type === "ByteLevel" && s.use_regex !== false)) return "gpt-2";
  for (const [name, regex] of Object.entries(BPE_SPLITS)) if (regex !== null && regex === pattern) return name;
  onWarning?.(`the tokenizer splits words with a pre-tokenizer llama.cpp has no name for (${JSON.stringify(doc.pre_tokenizer).slice(0, 200)}); ` +
    'writing tokenizer.ggml.pre "default", so llama.cpp may split some text differently');
  return "default";
}

function mergePairs(merges: unknown): [string, string][] {
  if (!Array.isArray(merges)) return [];
  return merges.map((m) => {
    if (Array.isArray(m)) return [String(m[0]), String(m[1])];
    const s = String(m);
    const cut = s.indexOf(" ", 1);
    return [s.slice(0, cut), s.slice(cut + 1)];
  });
}

// llama.cpp's SentencePiece tokenizer merges the adjacent pair whose joined text is the highest-scored token; a
// token's score is minus the rank of the first merge that makes it, so it merges in the BPE model's order. (The
// converter writes -1000 for every token of a tokenizer.json, which leaves llama.cpp no order to merge in.)
function mergeScores(tokens: string[], types: number[], merges: [string, string][]): number[] {
  const rank = new Map<string, number>();
  merges.forEach(([a, b], i) => {
    if (!rank.has(a + b)) rank.set(a + b, i);
  });
  return tokens.map((t, id) => (types[id] === NORMAL && rank.has(t) ? -rank.get(t)! : types[id] === UNUSED ? -1000 : 0));
}

function prependsSpace(doc: TokenizerJson): boolean {
  if (steps(doc.normalizer, "normalizers").some((s) => s.type === "Prepend" && s.prepend === SPACE)) return true;
  return steps(doc.pre_tokenizer, "pretokenizers").some((s) => s.type === "Metaspace" && (s.prepend_scheme === "always" || s.prepend_scheme === "first" || s.add_prefix_space === true));
}

function chatTemplates(value: unknown): [string, GgufEntry][] {
  if (typeof value === "string") return [["tokenizer.chat_template", str(value)]];
  if (!Array.isArray(value)) return [];
  return value.filter((t): t is { name: string; template: string } => isObj(t) && typeof t.name === "string" && typeof t.template === "string")
    .map((t) => [t.name === "default" ? "tokenizer.chat_template" : `tokenizer.chat_template.${t.name}`, str(t.template)]);
}

/** A tokenizer.json document and a tokenizer_config.json object from a GGUF file's tokenizer.* metadata. */
export function tokenizerFromGguf(meta: GgufMetadata): { doc: TokenizerJson; config: JsonObject } {
  const kind = meta.string("tokenizer.ggml.model");
  if (kind === undefined) throw meta.error("tokenizer.ggml.model", "is missing: the file has no tokenizer; pass --tokenizer DIR");
  if (kind !== "gpt2" && kind !== "llama") throw meta.error("tokenizer.ggml.model", `is "${kind}"; only "gpt2" (byte-level BPE) and "llama" (SentencePiece) vocabularies are read here; pass --tokenizer DIR`);
  const tokens = meta.strings("tokenizer.ggml.tokens");
  if (!tokens) throw meta.error("tokenizer.ggml.tokens", "is missing");
  const types = meta.numbers("tokenizer.ggml.token_type") ?? tokens.map(() => NORMAL);
  if (types.length !== tokens.length) throw meta.error("tokenizer.ggml.token_type", `has ${types.length} entries for ${tokens.length} tokens`);
  const id = (role: string) => {
    const v = meta.number(`tokenizer.ggml.${role}_token_id`, { integer: true });
    if (v !== undefined && (v < 0 || v >= tokens.length)) throw meta.error(`tokenizer.ggml.${role}_token_id`, `(${v}) is not a token id (${tokens.length} tokens)`);
    return v;
  };
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => {
    if (!Object.hasOwn(vocab, t)) vocab[t] = i;
  });
  const added: AddedTokenJson[] = [];
  tokens.forEach((t, i) => {
    const special = types[i] === CONTROL || types[i] === UNKNOWN;
    if (special || (types[i] === USER_DEFINED && !/^\[PAD\d+\]$/.test(t))) {
      added.push({ id: i, content: t, single_word: false, lstrip: false, rstrip: false, normalized: !special, special });
    }
  });
  const [bos, eos, unk, pad] = [id("bos"), id("eos"), id("unknown"), id("padding")];
  const llama = kind === "llama";
  const addBos = meta.bool("tokenizer.ggml.add_bos_token") ?? llama;
  const addEos = meta.bool("tokenizer.ggml.add_eos_token") ?? false;
  if (addBos && bos === undefined) throw meta.error("tokenizer.ggml.add_bos_token", "is true but there is no tokenizer.ggml.bos_token_id");
  if (addEos && eos === undefined) throw meta.error("tokenizer.ggml.add_eos_token", "is true but there is no tokenizer.ggml.eos_token_id");
  const template = [...(addBos ? [`${tokens[bos!]}:0`] : []), "$A:0", ...(addEos ? [`${tokens[eos!]}:0`] : [])].join(" ");
  const pairTemplate = `${template} ${[...(addBos ? [`${tokens[bos!]}:1`] : []), "$B:1", ...(addEos ? [`${tokens[eos!]}:1`] : [])].join(" ")}`;
  const templateIds: Record<string, number> = {};
  if (addBos) templateIds[tokens[bos!]!] = bos!;
  if (addEos) templateIds[tokens[eos!]!] = eos!;
  const common = { version: "1.0", truncation: null, padding: null, added_tokens: added, post_processor: templateProcessing(template, pairTemplate, templateIds) };
  const parts = llama ? sentencePieceParts(meta, tokens, types, vocab, unk) : byteLevelParts(meta, vocab);
  const doc: TokenizerJson = { ...common, ...parts };
  const config: JsonObject = { add_bos_token: addBos, add_eos_token: addEos };
  for (const [role, v] of [["bos", bos], ["eos", eos], ["unk", unk], ["pad", pad]] as const) if (v !== undefined) config[`${role}_token`] = tokens[v];
  const chat = meta.string("tokenizer.chat_template");
  if (chat !== undefined) config.chat_template = chat;
  return { doc, config };
}

function byteLevelParts(meta: GgufMetadata, vocab: Record<string, number>): ModelParts {
  const pre = meta.string("tokenizer.ggml.pre") ?? "gpt-2";
  const name = pre === "default" || pre === "gpt2" ? "gpt-2" : pre === "llama3" ? "llama-bpe" : pre;
  if (!Object.hasOwn(BPE_SPLITS, name)) {
    throw meta.error("tokenizer.ggml.pre", `is "${pre}", a pre-tokenizer not read here (supported: ${Object.keys(BPE_SPLITS).join(", ")}); pass --tokenizer DIR`);
  }
  const merges = meta.strings("tokenizer.ggml.merges");
  if (!merges) throw meta.error("tokenizer.ggml.merges", "is missing (a gpt2 vocabulary needs its merges)");
  const pairs = merges.map((m, i) => {
    const parts = m.split(" ");
    if (parts.length !== 2 || !parts[0] || !parts[1]) throw meta.error(`tokenizer.ggml.merges[${i}]`, `is ${JSON.stringify(m)}, not two tokens separated by one space`);
    return parts as [string, string];
  });
  const regex = BPE_SPLITS[name];
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: regex === null };
  return {
    normalizer: null,
    pre_tokenizer: regex === null ? byteLevel : {
      type: "Sequence",
      pretokenizers: [{ type: "Split", pattern: { Regex: regex }, behavior: "Isolated", invert: false }, byteLevel],
    },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "", end_of_word_suffix: "", fuse_unk: false, byte_fallback: false, vocab, merges: pairs },
  };
}

function sentencePieceParts(meta: GgufMetadata, tokens: string[], types: number[], vocab: Record<string, number>, unk: number | undefined): ModelParts {
  const scores = meta.numbers("tokenizer.ggml.scores");
  if (!scores) throw meta.error("tokenizer.ggml.scores", "is missing (a llama vocabulary ranks its merges by them)");
  if (scores.length !== tokens.length) throw meta.error("tokenizer.ggml.scores", `has ${scores.length} entries for ${tokens.length} tokens`);
  const prefix = meta.bool("tokenizer.ggml.add_space_prefix") ?? true;
  const unkId = unk ?? types.indexOf(UNKNOWN);
  return {
    normalizer: {
      type: "Sequence",
      normalizers: [...(prefix ? [{ type: "Prepend", prepend: SPACE }] : []), { type: "Replace", pattern: { String: " " }, content: SPACE }],
    },
    pre_tokenizer: null,
    decoder: {
      type: "Sequence",
      decoders: [
        { type: "Replace", pattern: { String: SPACE }, content: " " }, { type: "ByteFallback" }, { type: "Fuse" },
        { type: "Strip", content: " ", start: prefix ? 1 : 0, stop: 0 },
      ],
    },
    model: {
      type: "BPE", dropout: null, unk_token: unkId >= 0 ? tokens[unkId] : null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges: mergesFromScores(tokens, types, scores),
    },
  };
}

// SentencePiece BPE as merges (what transformers' SentencePieceExtractor does): every split of a normal token into
// two normal tokens is a merge, ranked by the joined token's score, highest first.
function mergesFromScores(tokens: string[], types: number[], scores: number[]): [string, string][] {
  const normal = new Map<string, number>();
  tokens.forEach((t, i) => {
    if (types[i] === NORMAL && !normal.has(t)) normal.set(t, i);
  });
  const found: { pair: [string, string]; score: number; id: number; left: number }[] = [];
  for (const [t, id] of normal) {
    const chars = [...t];
    for (let k = 1; k < chars.length; k++) {
      const left = chars.slice(0, k).join(""), right = chars.slice(k).join("");
      const l = normal.get(left);
      if (l !== undefined && normal.has(right)) found.push({ pair: [left, right], score: scores[id]!, id, left: l });
    }
  }
  found.sort((a, b) => b.score - a.score || a.id - b.id || a.left - b.left);
  return found.map((f) => f.pair);
}

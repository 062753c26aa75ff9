// Loads a tokenizer directory the way transformers' AutoTokenizer does for fast tokenizers:
// tokenizer.json first, else the slow-tokenizer files converted like HF's convert_slow_tokenizer.
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { readChatTemplate } from "./chat-template.js";
import {
  additionalSpecialTokens,
  checkConfigTypes,
  MAX_TOKENIZER_FILE_BYTES,
  readBoundedText,
  defaultModelInputNames,
  defaultSpecialTokens,
  readJsonObject,
  resolveSpecialTokens,
  SPECIAL_ROLES,
  type JsonObject,
  type SpecialTokens,
} from "./config.js";
import { GgufMetadata, isGgufFile, readGgufHeader } from "../io/gguf.js";
import { tokenizerFromGguf } from "./gguf.js";
import type { Side } from "./padding-truncation.js";
import { PreTrainedTokenizer, type SpecialTokensToAdd } from "./pretrained-tokenizer.js";
import {
  byteLevelBpeTokenizerJson,
  ensureSpecialTokens,
  MAX_TOKEN_ID,
  modelVocab,
  parseMergesTxt,
  parseTokenizerJson,
  parseVocabJson,
  parseVocabTxt,
  templateProcessing,
  tokenizerFromJson,
  wordPieceTokenizerJson,
  type AddedTokenJson,
  type TokenizerJson,
} from "./tokenizer-json.js";

/** Overrides for tokenizer_config.json values, like the kwargs of HF's from_pretrained. */
export interface TokenizerFromPretrainedOptions extends Omit<SpecialTokensToAdd, "additionalSpecialTokens"> {
  modelMaxLength?: number;
  paddingSide?: Side;
  truncationSide?: Side;
  /** Only for a tokenizer built from vocab.txt; a tokenizer.json carries its own normalizer. */
  doLowerCase?: boolean;
  addBosToken?: boolean;
  addEosToken?: boolean;
}

const LOOKED_FOR = "tokenizer.json, vocab.txt (WordPiece), vocab.json + merges.txt (byte-level BPE)";

export class AutoTokenizer {
  static async fromPretrained(dir: string, opts: TokenizerFromPretrainedOptions = {}): Promise<PreTrainedTokenizer> {
    const info = await stat(dir).catch(() => undefined);
    // A llama.cpp GGUF file carries its vocabulary: it stands for the whole folder.
    const gguf = info?.isFile() && isGgufFile(dir) ? tokenizerFromGguf(new GgufMetadata(readGgufHeader(dir), dir)) : undefined;
    if (!info?.isDirectory() && !gguf) {
      throw new Error(`${dir}: not a directory; fromPretrained loads a local folder holding ${LOOKED_FOR}, or a GGUF file`);
    }
    const configFile = gguf ? dir : join(dir, "tokenizer_config.json");
    const mapFile = gguf ? dir : join(dir, "special_tokens_map.json");
    const config = { ...(gguf?.config ?? (await readJsonObject(configFile)) ?? {}), ...configOverrides(opts) };
    checkConfigTypes(config, configFile);
    const specialMap = gguf ? {} : ((await readJsonObject(mapFile)) ?? {});
    const sources = [
      { values: config, where: configFile },
      { values: specialMap, where: mapFile },
    ];

    const { doc, file } = gguf ? { doc: gguf.doc, file: dir } : await readTokenizerDoc(dir, config, resolveSpecialTokens(sources));
    addConfigAddedTokens(doc, config, configFile);
    const vocab = modelVocab(doc.model);
    for (const t of doc.added_tokens) vocab.set(t.content, t.id);
    const special = resolveSpecialTokens(sources, defaultSpecialTokens(doc.model.type!, vocab, doc.model.unk_token));
    const additional = [...new Set([...additionalSpecialTokens(config, configFile), ...additionalSpecialTokens(specialMap, mapFile)])];
    ensureSpecialTokens(doc, [...SPECIAL_ROLES.flatMap((r) => special[r] ?? []), ...additional]);
    applyBosEosFlags(doc, config, special, configFile);

    const backend = tokenizerFromJson(doc, file);
    const maxLength = typeof config.model_max_length === "number" ? config.model_max_length : Infinity;
    if (!(maxLength >= 1 && (Number.isInteger(maxLength) || maxLength >= 1e18))) {
      throw new Error(`${configFile}: model_max_length must be a positive integer, got ${JSON.stringify(config.model_max_length)}`);
    }
    return new PreTrainedTokenizer(backend, {
      specialTokens: special,
      additionalSpecialTokens: additional,
      // HF writes int(1e30) for "no limit".
      modelMaxLength: maxLength >= 1e18 ? Infinity : maxLength,
      paddingSide: side(config.padding_side, "padding_side", configFile),
      truncationSide: side(config.truncation_side, "truncation_side", configFile),
      modelInputNames: defaultModelInputNames(config, doc.model.type!),
      cleanUpTokenizationSpaces: config.clean_up_tokenization_spaces === true,
      config,
      chatTemplate: await readChatTemplate(gguf ? null : dir, config, configFile),
    });
  }
}

function configOverrides(opts: TokenizerFromPretrainedOptions): JsonObject {
  const out: JsonObject = {
    model_max_length: opts.modelMaxLength,
    padding_side: opts.paddingSide,
    truncation_side: opts.truncationSide,
    do_lower_case: opts.doLowerCase,
    add_bos_token: opts.addBosToken,
    add_eos_token: opts.addEosToken,
  };
  for (const role of SPECIAL_ROLES) out[`${role}_token`] = opts[`${role}Token`];
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}

async function isFile(file: string): Promise<boolean> {
  return (await stat(file).catch(() => undefined))?.isFile() ?? false;
}

async function readTokenizerDoc(
  dir: string,
  config: JsonObject,
  special: SpecialTokens,
): Promise<{ doc: TokenizerJson; file: string }> {
  const at = (name: string) => join(dir, name);
  if (await isFile(at("tokenizer.json"))) {
    const file = at("tokenizer.json");
    return { doc: parseTokenizerJson(await readBoundedText(file, MAX_TOKENIZER_FILE_BYTES), file), file };
  }
  if (await isFile(at("vocab.txt"))) {
    const file = at("vocab.txt");
    const doc = wordPieceTokenizerJson({
      vocab: parseVocabTxt(await readBoundedText(file, MAX_TOKENIZER_FILE_BYTES), file),
      unkToken: special.unk ?? "[UNK]",
      lowercase: config.do_lower_case !== false,
      stripAccents: typeof config.strip_accents === "boolean" ? config.strip_accents : null,
      handleChineseChars: config.tokenize_chinese_chars !== false,
      clsToken: special.cls ?? "[CLS]",
      sepToken: special.sep ?? "[SEP]",
    });
    return { doc, file };
  }
  if ((await isFile(at("vocab.json"))) && (await isFile(at("merges.txt")))) {
    const [vocabFile, mergesFile] = [at("vocab.json"), at("merges.txt")];
    const doc = byteLevelBpeTokenizerJson({
      vocab: parseVocabJson(await readBoundedText(vocabFile, MAX_TOKENIZER_FILE_BYTES), vocabFile),
      merges: parseMergesTxt(await readBoundedText(mergesFile, MAX_TOKENIZER_FILE_BYTES), mergesFile),
      addPrefixSpace: config.add_prefix_space === true,
    });
    return { doc, file: `${vocabFile} + merges.txt` };
  }
  throw new Error(`${dir}: no tokenizer files; looked for ${LOOKED_FOR}`);
}

/** Tokens listed in the config's `added_tokens_decoder` (transformers >= 4.34) that the tokenizer lacks. */
function addConfigAddedTokens(doc: TokenizerJson, config: JsonObject, configFile: string): void {
  const decoder = config.added_tokens_decoder;
  if (typeof decoder !== "object" || decoder === null) return;
  const present = new Set(doc.added_tokens.map((t) => t.content));
  for (const [id, token] of Object.entries(decoder as Record<string, Partial<AddedTokenJson>>)) {
    if (!/^\d{1,7}$/.test(id) || Number(id) >= MAX_TOKEN_ID) {
      throw new Error(`${configFile}: added_tokens_decoder key ${JSON.stringify(id.slice(0, 40))} is not a token id (an integer below ${MAX_TOKEN_ID})`);
    }
    if (typeof token?.content !== "string" || present.has(token.content)) continue;
    doc.added_tokens.push({
      id: Number(id),
      content: token.content,
      single_word: token.single_word ?? false,
      lstrip: token.lstrip ?? false,
      rstrip: token.rstrip ?? false,
      normalized: token.normalized ?? !token.special,
      special: token.special ?? false,
    });
  }
}

/**
 * `add_bos_token` / `add_eos_token` in a config rule over the tokenizer.json template, as in HF's
 * LlamaTokenizerFast.update_post_processor (phi-3's config turns BOS off).
 */
function applyBosEosFlags(doc: TokenizerJson, config: JsonObject, special: SpecialTokens, configFile: string): void {
  if (typeof config.add_bos_token !== "boolean" && typeof config.add_eos_token !== "boolean") return;
  const addBos = config.add_bos_token === true;
  const addEos = config.add_eos_token === true;
  const ids: Record<string, number> = {};
  const use = (role: "bos" | "eos") => {
    const token = special[role];
    if (token === undefined) throw new Error(`${configFile}: add_${role}_token is true but there is no ${role}_token`);
    ids[token] = doc.added_tokens.find((t) => t.content === token)!.id;
    return token;
  };
  const bos = addBos ? `${use("bos")}:0 ` : "";
  const eos = addEos ? ` ${use("eos")}:0` : "";
  const single = `${bos}$A:0${eos}`;
  const pair = `${single}${addBos ? ` ${special.bos}:1` : ""} $B:1${addEos ? ` ${special.eos}:1` : ""}`;
  doc.post_processor = templateProcessing(single, pair, ids);
}

function side(value: unknown, key: string, file: string): Side {
  if (value === undefined || value === null) return "right";
  if (value === "left" || value === "right") return value;
  throw new Error(`${file}: ${key} must be "left" or "right", got ${JSON.stringify(value)}`);
}

// tokenizer_config.json / special_tokens_map.json: special-token roles and the HF defaults that fill
// in for roles a config leaves out (the bert and gpt2 configs on the Hub name no special token at all).
import { readFile, stat } from "node:fs/promises";

export const SPECIAL_ROLES = ["bos", "eos", "unk", "sep", "pad", "cls", "mask"] as const;
export type SpecialRole = (typeof SPECIAL_ROLES)[number];
export type SpecialTokens = Partial<Record<SpecialRole, string>>;

export type JsonObject = Record<string, unknown>;

/** Size limits for tokenizer files: the largest real ones (tokenizer.json of a 256k vocabulary) are near 35 MB, and
 *  configs hold at most a chat template and a list of added tokens. */
export const MAX_TOKENIZER_FILE_BYTES = 256 << 20;
export const MAX_CONFIG_FILE_BYTES = 16 << 20;

/** The file's text, refused before reading when it is larger than `limit` bytes. */
export async function readBoundedText(file: string, limit: number): Promise<string> {
  const { size } = await stat(file);
  if (size > limit) throw new Error(`${file}: ${size} bytes, more than the ${limit} a tokenizer file may have`);
  return readFile(file, "utf8");
}

/** The parsed object, or undefined when the file does not exist. */
export async function readJsonObject(file: string): Promise<JsonObject | undefined> {
  let text: string;
  try {
    text = await readBoundedText(file, MAX_CONFIG_FILE_BYTES);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${file}: expected a JSON object`);
  }
  return value as JsonObject;
}

/** The value types of the tokenizer_config.json keys this library reads (the others are kept, not interpreted). */
const CONFIG_TYPES: Record<string, "boolean" | "string" | "number" | "strings" | "object"> = {
  model_max_length: "number", padding_side: "string", truncation_side: "string", clean_up_tokenization_spaces: "boolean",
  do_lower_case: "boolean", strip_accents: "boolean", tokenize_chinese_chars: "boolean", add_prefix_space: "boolean",
  add_bos_token: "boolean", add_eos_token: "boolean", model_input_names: "strings", tokenizer_class: "string",
  added_tokens_decoder: "object",
};

/** Refuses a key of `config` whose value has the wrong type (null counts as unset), naming the file and the key. */
export function checkConfigTypes(config: JsonObject, file: string): void {
  for (const [key, type] of Object.entries(CONFIG_TYPES)) {
    const value = config[key];
    if (value === undefined || value === null) continue;
    const ok = type === "strings" ? Array.isArray(value) && value.every((v) => typeof v === "string")
      : type === "object" ? typeof value === "object" && !Array.isArray(value)
      : typeof value === type;
    if (!ok) throw new Error(`${file}: ${key} must be ${type === "strings" ? "a list of strings" : `a ${type}`}, got ${JSON.stringify(value).slice(0, 80)}`);
  }
}

/** A token given as a string or as a serialized AddedToken `{content: ...}`; null means "none". */
export function tokenContent(value: unknown, where: string): string | null {
  if (value === null) return null;
  if (typeof value === "string") return value;
  if (typeof value === "object" && typeof (value as JsonObject).content === "string") {
    return (value as { content: string }).content;
  }
  throw new Error(`${where}: expected a token string or {"content": ...}, got ${JSON.stringify(value)}`);
}

/**
 * Roles from the sources in priority order, then `defaults` for roles no source mentions. A role a
 * source sets to null stays unset: gpt2 configs say `"pad_token": null` on purpose.
 */
export function resolveSpecialTokens(sources: { values: JsonObject; where: string }[], defaults: SpecialTokens = {}): SpecialTokens {
  const out: SpecialTokens = {};
  for (const role of SPECIAL_ROLES) {
    const key = `${role}_token`;
    const source = sources.find((s) => s.values[key] !== undefined);
    const content = source ? tokenContent(source.values[key], `${source.where}: ${key}`) : (defaults[role] ?? null);
    if (content !== null) out[role] = content;
  }
  return out;
}

/** The tokens of `additional_special_tokens`, if the config lists any. */
export function additionalSpecialTokens(config: JsonObject, where: string): string[] {
  const list = config.additional_special_tokens;
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new Error(`${where}: additional_special_tokens must be an array`);
  return list.map((t) => tokenContent(t, `${where}: additional_special_tokens`)).filter((t) => t !== null);
}

/** RobertaTokenizer's and XLMRobertaTokenizer's defaults (fairseq's dictionary: <s> <pad> </s> <unk> ... <mask>). */
const FAIRSEQ_TOKENS: SpecialTokens = { bos: "<s>", eos: "</s>", unk: "<unk>", sep: "</s>", pad: "<pad>", cls: "<s>", mask: "<mask>" };

/**
 * What HF's tokenizer classes assume when a config names nothing: BertTokenizer's [CLS]/[SEP]/...,
 * GPT2Tokenizer's <|endoftext|> for bos/eos/unk, and RoBERTa's and XLM-R's fairseq tokens for a vocabulary that has
 * <s>, </s> and <pad> (roberta-base ships no tokenizer_config.json). Only tokens the vocabulary really has are used.
 */
export function defaultSpecialTokens(modelType: string, vocab: Map<string, number>, unkToken?: string | null): SpecialTokens {
  const fairseq = ["<s>", "</s>", "<pad>"].every((t) => vocab.has(t));
  const candidates: SpecialTokens =
    modelType === "WordPiece"
      ? { unk: "[UNK]", sep: "[SEP]", pad: "[PAD]", cls: "[CLS]", mask: "[MASK]" }
      : fairseq && !vocab.has("<|endoftext|>") ? { ...FAIRSEQ_TOKENS }
      : { bos: "<|endoftext|>", eos: "<|endoftext|>", unk: "<|endoftext|>" };
  if (unkToken) candidates.unk = unkToken;
  return Object.fromEntries(Object.entries(candidates).filter(([, token]) => vocab.has(token))) as SpecialTokens;
}

/** Model inputs by tokenizer class, as the HF classes declare them in `model_input_names`. */
export function defaultModelInputNames(config: JsonObject, modelType: string): string[] {
  if (Array.isArray(config.model_input_names)) return config.model_input_names.map(String);
  const cls = typeof config.tokenizer_class === "string" ? config.tokenizer_class : undefined;
  const withTypeIds = cls !== undefined ? /^(Bert|Electra|Funnel|MobileBert|Layout|Squeeze)/.test(cls) : modelType === "WordPiece";
  return withTypeIds ? ["input_ids", "token_type_ids", "attention_mask"] : ["input_ids", "attention_mask"];
}

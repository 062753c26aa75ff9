// A camelCase counterpart of HF's PreTrainedTokenizerFast over the `tokenizers` Rust binding.
// The binding only encodes asynchronously (encode/encodeBatch run on libuv's thread pool); it has no
// synchronous encode, so every encoding method here returns a Promise.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Encoding, Tokenizer } from "tokenizers";
import {
  assistantSpans, chatTurnEnd, configTemplateValue, renderChatTemplate, selectTemplate, spansToTokens,
  type ChatMessage, type ChatTemplateOptions, type ChatTemplateSource,
} from "./chat-template.js";
import { charBudget, cutToChars } from "./char-budget.js";
import { SPECIAL_ROLES, type JsonObject, type SpecialRole, type SpecialTokens } from "./config.js";
import {
  padRow,
  resolveStrategies,
  truncatedLengths,
  type Padding,
  type ResolvedStrategies,
  type Side,
  type Truncation,
} from "./padding-truncation.js";

export interface TokenizerInit {
  specialTokens: SpecialTokens;
  additionalSpecialTokens?: string[];
  /** Infinity when the config gives none (HF stores 1e30 for that). */
  modelMaxLength: number;
  paddingSide: Side;
  truncationSide: Side;
  modelInputNames: string[];
  cleanUpTokenizationSpaces: boolean;
  /** The tokenizer_config.json it came from: savePretrained keeps its other keys. */
  config: JsonObject;
  chatTemplate?: ChatTemplateSource;
}

export interface CallOptions {
  textPair?: string | string[];
  addSpecialTokens?: boolean;
  padding?: Padding;
  truncation?: Truncation;
  maxLength?: number;
  padToMultipleOf?: number;
  paddingSide?: Side;
  truncationSide?: Side;
  /** Default: whether the tokenizer's modelInputNames include token_type_ids (BERT yes, GPT-2 no). */
  returnTokenTypeIds?: boolean;
  returnSpecialTokensMask?: boolean;
  /** Also return each token's [start, end) in its text, in JS string (UTF-16) indices; [0, 0] for padding. */
  returnOffsetsMapping?: boolean;
}

export type EncodeOptions = Pick<CallOptions, "addSpecialTokens" | "truncation" | "maxLength" | "truncationSide"> & {
  textPair?: string;
};

export interface DecodeOptions {
  skipSpecialTokens?: boolean;
  cleanUpTokenizationSpaces?: boolean;
}

/** One row per input text, even for a single text. */
export interface BatchEncoding {
  inputIds: number[][];
  attentionMask: number[][];
  tokenTypeIds?: number[][];
  specialTokensMask?: number[][];
  offsetMapping?: [number, number][][];
}

/** A conversation rendered and tokenized, with 1 on the tokens of assistant turns (their end-of-turn token too). */
export interface ChatEncoding {
  inputIds: number[];
  assistantMasks: number[];
  /** Assistant messages (their index in the conversation) whose turn the template does not render on its own the
   *  way it renders them in the whole conversation, so their tokens could not be told apart (their mask stays 0). */
  unlocatedTurns: number[];
  /** The rendered text. */
  text: string;
}

export type ApplyChatTemplateOptions = ChatTemplateOptions & { tokenize?: boolean; returnAssistantTokensMask?: boolean };

export type SpecialTokensToAdd = { [R in SpecialRole as `${R}Token`]?: string } & { additionalSpecialTokens?: string[] };

const NO_PAD_TOKEN =
  "Asking to pad but the tokenizer has no padding token. Set one with `tokenizer.padToken = tokenizer.eosToken`, " +
  'or add a new one with `tokenizer.addSpecialTokens({ padToken: "[PAD]" })` (then `model.resizeTokenEmbeddings(tokenizer.length)`).';

export class PreTrainedTokenizer {
  readonly backendTokenizer: Tokenizer;
  modelMaxLength: number;
  paddingSide: Side;
  truncationSide: Side;
  readonly modelInputNames: string[];
  cleanUpTokenizationSpaces: boolean;
  /** A Jinja chat template, or named ones; set it to give a tokenizer without one a template. */
  chatTemplate: ChatTemplateSource | undefined;
  private readonly special: SpecialTokens;
  private readonly additional: string[];
  private readonly config: JsonObject;
  private addedCounts?: Promise<{ single: number; pair: number }>;

  constructor(backend: Tokenizer, init: TokenizerInit) {
    this.backendTokenizer = backend;
    this.special = { ...init.specialTokens };
    this.additional = [...(init.additionalSpecialTokens ?? [])];
    this.modelMaxLength = init.modelMaxLength;
    this.paddingSide = init.paddingSide;
    this.truncationSide = init.truncationSide;
    this.modelInputNames = init.modelInputNames;
    this.cleanUpTokenizationSpaces = init.cleanUpTokenizationSpaces;
    this.config = init.config;
    this.chatTemplate = init.chatTemplate;
  }

  /** Size of the base vocabulary, without added tokens (HF `vocab_size`). */
  get vocabSize(): number {
    return this.backendTokenizer.getVocabSize(false);
  }

  /** Vocabulary size including added tokens (HF `len(tokenizer)`): size embeddings with this. */
  get length(): number {
    return this.backendTokenizer.getVocabSize(true);
  }

  getVocab(): Record<string, number> {
    return this.backendTokenizer.getVocab(true);
  }

  get padToken(): string | undefined { return this.special.pad; }
  set padToken(token: string | undefined) { this.setSpecial("pad", token); }
  get unkToken(): string | undefined { return this.special.unk; }
  set unkToken(token: string | undefined) { this.setSpecial("unk", token); }
  get clsToken(): string | undefined { return this.special.cls; }
  set clsToken(token: string | undefined) { this.setSpecial("cls", token); }
  get sepToken(): string | undefined { return this.special.sep; }
  set sepToken(token: string | undefined) { this.setSpecial("sep", token); }
  get maskToken(): string | undefined { return this.special.mask; }
  set maskToken(token: string | undefined) { this.setSpecial("mask", token); }
  get bosToken(): string | undefined { return this.special.bos; }
  set bosToken(token: string | undefined) { this.setSpecial("bos", token); }
  get eosToken(): string | undefined { return this.special.eos; }
  set eosToken(token: string | undefined) { this.setSpecial("eos", token); }

  get padTokenId(): number | undefined { return this.specialId("pad"); }
  get unkTokenId(): number | undefined { return this.specialId("unk"); }
  get clsTokenId(): number | undefined { return this.specialId("cls"); }
  get sepTokenId(): number | undefined { return this.specialId("sep"); }
  get maskTokenId(): number | undefined { return this.specialId("mask"); }
  get bosTokenId(): number | undefined { return this.specialId("bos"); }
  get eosTokenId(): number | undefined { return this.specialId("eos"); }

  /** The role tokens plus the additional special tokens, without duplicates (HF `all_special_tokens`). */
  get allSpecialTokens(): string[] {
    return [...new Set([...SPECIAL_ROLES.flatMap((r) => this.special[r] ?? []), ...this.additional])];
  }

  get allSpecialIds(): number[] {
    return this.allSpecialTokens.map((t) => this.backendTokenizer.tokenToId(t)).filter((id) => id !== null);
  }

  /** Adds special tokens (new ones get new ids) and assigns roles; returns how many ids were created (give the
   *  model rows for them with `model.resizeTokenEmbeddings(tokenizer.length)`). */
  addSpecialTokens(tokens: SpecialTokensToAdd): number {
    const before = this.length;
    const roles = SPECIAL_ROLES.filter((r) => tokens[`${r}Token`] !== undefined);
    const added = [...roles.map((r) => tokens[`${r}Token`]!), ...(tokens.additionalSpecialTokens ?? [])];
    this.backendTokenizer.addSpecialTokens(added);
    for (const r of roles) this.special[r] = tokens[`${r}Token`];
    for (const t of tokens.additionalSpecialTokens ?? []) if (!this.additional.includes(t)) this.additional.push(t);
    return this.length - before;
  }

  /** Adds ordinary (non-special) tokens; returns how many ids were created (then
   *  `model.resizeTokenEmbeddings(tokenizer.length)`). */
  addTokens(tokens: string[]): number {
    return this.backendTokenizer.addTokens(tokens);
  }

  /** The tokens of one text (and optional pair), without special tokens unless asked. */
  async tokenize(text: string, opts: { textPair?: string; addSpecialTokens?: boolean } = {}): Promise<string[]> {
    const enc = await this.backendTokenizer.encode(text, opts.textPair ?? null, {
      addSpecialTokens: opts.addSpecialTokens ?? false,
    });
    return enc.getTokens();
  }

  /**
   * The texts cut so that each still holds more than twice `maxTokens` tokens (or is whole): what truncation to
   * `maxTokens` keeps is unchanged, and no text longer than that reaches the Rust tokenizer, whose memory and time
   * grow with the whole text. The cut starts at charBudget(maxTokens) characters and doubles while it holds too few.
   */
  async fitToTokenBudget(texts: readonly string[], maxTokens: number, side: Side = this.truncationSide): Promise<string[]> {
    const out = [...texts];
    let pending = out.flatMap((t, i) => (t.length > charBudget(maxTokens) ? [i] : []));
    for (let chars = charBudget(maxTokens); pending.length > 0; chars *= 2) {
      const cuts = pending.map((i) => cutToChars(texts[i]!, chars, side));
      const encodings = await this.encodeBatch(cuts, false);
      pending.forEach((i, k) => { out[i] = cuts[k]!; });
      pending = pending.filter((i, k) => encodings[k]!.getLength() <= 2 * maxTokens + 16 && out[i]!.length < texts[i]!.length);
    }
    return out;
  }

  async encode(text: string, opts: EncodeOptions = {}): Promise<number[]> {
    return (await this.call(text, { ...opts, returnTokenTypeIds: false })).inputIds[0]!;
  }

  /**
   * Tokenizes a batch like HF's `tokenizer(texts, ...)`. Truncation keeps the special tokens, as the
   * Rust tokenizer does: sequences are truncated without them, then the post-processor adds them.
   */
  async call(texts: string | string[], opts: CallOptions = {}): Promise<BatchEncoding> {
    let firsts = typeof texts === "string" ? [texts] : texts;
    let seconds = typeof opts.textPair === "string" ? [opts.textPair] : opts.textPair;
    let shifts: number[] | undefined;
    if (seconds !== undefined && seconds.length !== firsts.length) {
      throw new Error(`textPair has ${seconds.length} entries for ${firsts.length} texts`);
    }
    const strategies = resolveStrategies(opts, this.modelMaxLength);
    const padId = this.padTokenId;
    if (strategies.padding !== "none" && padId === undefined) throw new Error(NO_PAD_TOKEN);
    const addSpecial = opts.addSpecialTokens ?? true;
    const side = opts.truncationSide ?? this.truncationSide;
    // Truncation keeps at most maxLength tokens of each text: the rest never needs tokenizing.
    if (strategies.truncation !== "none") {
      const cut = await this.fitToTokenBudget(firsts, strategies.maxLength!, side);
      // Offsets count from the start of the text a left-side cut shortened.
      shifts = firsts.map((t, i) => (side === "left" ? t.length - cut[i]!.length : 0));
      firsts = cut;
      if (seconds !== undefined) seconds = await this.fitToTokenBudget(seconds, strategies.maxLength!, side);
    }
    const encodings =
      seconds === undefined
        ? await this.encodeSingles(firsts, addSpecial, strategies, side)
        : await this.encodePairs(firsts, seconds, addSpecial, strategies, side);

    // Each getter is a native call, so only the requested fields are fetched; without padding the
    // attention mask is all ones.
    const out: BatchEncoding = { inputIds: encodings.map((e) => e.getIds()), attentionMask: [] };
    out.attentionMask = out.inputIds.map((r) => new Array<number>(r.length).fill(1));
    if (opts.returnTokenTypeIds ?? this.modelInputNames.includes("token_type_ids")) {
      out.tokenTypeIds = encodings.map((e) => e.getTypeIds());
    }
    if (opts.returnSpecialTokensMask) out.specialTokensMask = encodings.map((e) => e.getSpecialTokensMask());
    if (opts.returnOffsetsMapping) {
      if (seconds !== undefined) throw new Error("returnOffsetsMapping is for single texts, not pairs");
      out.offsetMapping = encodings.map((e, i) => utf16Offsets(firsts[i]!, e.getOffsets(), shifts?.[i] ?? 0));
    }
    if (strategies.padding === "none") return out;

    let length =
      strategies.padding === "max_length" ? strategies.maxLength! : out.inputIds.reduce((m, r) => Math.max(m, r.length), 0);
    if (opts.padToMultipleOf) length = Math.ceil(length / opts.padToMultipleOf) * opts.padToMultipleOf;
    const padSide = opts.paddingSide ?? this.paddingSide;
    out.inputIds = out.inputIds.map((r) => padRow(r, length, padId!, padSide));
    out.attentionMask = out.attentionMask.map((r) => padRow(r, length, 0, padSide));
    out.tokenTypeIds = out.tokenTypeIds?.map((r) => padRow(r, length, 0, padSide));
    out.specialTokensMask = out.specialTokensMask?.map((r) => padRow(r, length, 1, padSide));
    out.offsetMapping = out.offsetMapping?.map((r) => padRow(r, length, [0, 0], padSide));
    return out;
  }

  /**
   * Renders a conversation with the chat template, as transformers' apply_chat_template: the text with
   * `tokenize: false`, else its token ids (the template writes any special tokens itself, so none are added), or
   * with `returnAssistantTokensMask` the ids and a 0/1 mask over the assistant turns.
   */
  applyChatTemplate(messages: readonly ChatMessage[], opts: ChatTemplateOptions & { tokenize: false }): string;
  applyChatTemplate(messages: readonly ChatMessage[], opts: ChatTemplateOptions & { tokenize?: true; returnAssistantTokensMask: true }): Promise<ChatEncoding>;
  applyChatTemplate(messages: readonly ChatMessage[], opts?: ChatTemplateOptions & { tokenize?: true; returnAssistantTokensMask?: false }): Promise<number[]>;
  applyChatTemplate(messages: readonly ChatMessage[], opts: ApplyChatTemplateOptions = {}): string | Promise<number[] | ChatEncoding> {
    const template = selectTemplate(this.chatTemplate, opts);
    const render = (m: readonly ChatMessage[], addGenerationPrompt: boolean) =>
      renderChatTemplate(template, m, this.templateSpecialTokens(), { ...opts, addGenerationPrompt });
    if (opts.tokenize === false) return render(messages, opts.addGenerationPrompt ?? false);
    if (!opts.returnAssistantTokensMask) return this.encode(render(messages, opts.addGenerationPrompt ?? false), { addSpecialTokens: false });
    return this.encodeChat(messages, render);
  }

  /**
   * How the chat template closes an assistant turn: its text ("" when the template writes nothing after a reply,
   * null when a probe conversation cannot be rendered) and, when that text starts with a special token (such as
   * <|im_end|>), that token and its id: what generation stops at.
   */
  async chatTurnEnd(opts: ChatTemplateOptions = {}): Promise<{ text: string; tokenId: number | null } | null> {
    const template = selectTemplate(this.chatTemplate, opts);
    const text = chatTurnEnd((m, addGenerationPrompt) => renderChatTemplate(template, m, this.templateSpecialTokens(), { ...opts, addGenerationPrompt }));
    if (!text) return text === "" ? { text, tokenId: null } : null;
    const [first] = await this.encode(text, { addSpecialTokens: false });
    // A special token (which decoding with skipSpecialTokens drops) is the stop; otherwise the text's first line.
    const special = first !== undefined && (await this.decode([first], { skipSpecialTokens: true })) === "";
    return special ? { text: await this.decode([first]), tokenId: first } : { text: text.split("\n")[0]!, tokenId: null };
  }

  async decode(ids: number[], opts: DecodeOptions = {}): Promise<string> {
    checkIds(ids);
    const text = await this.backendTokenizer.decode(ids, opts.skipSpecialTokens ?? false);
    return this.cleanUp(text, opts);
  }

  async batchDecode(sequences: number[][], opts: DecodeOptions = {}): Promise<string[]> {
    sequences.forEach(checkIds);
    const texts = await this.backendTokenizer.decodeBatch(sequences, opts.skipSpecialTokens ?? false);
    return texts.map((t) => this.cleanUp(t, opts));
  }

  /** Unknown tokens map to the unk token's id, as in HF; without an unk token they are an error. */
  convertTokensToIds(token: string): number;
  convertTokensToIds(tokens: string[]): number[];
  convertTokensToIds(tokens: string | string[]): number | number[] {
    const one = (t: string): number => {
      const id = this.backendTokenizer.tokenToId(t) ?? this.unkTokenId;
      if (id === undefined) throw new Error(`token ${JSON.stringify(t)} is not in the vocabulary and there is no unk token`);
      return id;
    };
    return typeof tokens === "string" ? one(tokens) : tokens.map(one);
  }

  convertIdsToTokens(id: number): string;
  convertIdsToTokens(ids: number[], opts?: { skipSpecialTokens?: boolean }): string[];
  convertIdsToTokens(ids: number | number[], opts: { skipSpecialTokens?: boolean } = {}): string | string[] {
    const one = (id: number): string => {
      const token = Number.isInteger(id) && id >= 0 ? this.backendTokenizer.idToToken(id) : null;
      if (token === null) throw new RangeError(`token id ${id} is not in the vocabulary (size ${this.length})`);
      return token;
    };
    if (typeof ids === "number") return one(ids);
    const skip = opts.skipSpecialTokens ? new Set(this.allSpecialIds) : undefined;
    return ids.filter((id) => !skip?.has(id)).map(one);
  }

  /** Writes tokenizer.json, tokenizer_config.json and special_tokens_map.json; returns their paths. */
  async savePretrained(dir: string): Promise<string[]> {
    await mkdir(dir, { recursive: true });
    const files = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"].map((f) => join(dir, f));
    this.backendTokenizer.save(files[0]!, true);
    const specialMap: JsonObject = {};
    for (const role of SPECIAL_ROLES) if (this.special[role] !== undefined) specialMap[`${role}_token`] = this.special[role];
    if (this.additional.length > 0) specialMap.additional_special_tokens = this.additional;
    const config: JsonObject = { ...this.config };
    for (const role of SPECIAL_ROLES) delete config[`${role}_token`];
    delete config.additional_special_tokens;
    delete config.model_max_length;
    delete config.chat_template;
    if (this.chatTemplate !== undefined) config.chat_template = configTemplateValue(this.chatTemplate);
    Object.assign(config, specialMap, {
      padding_side: this.paddingSide,
      truncation_side: this.truncationSide,
      clean_up_tokenization_spaces: this.cleanUpTokenizationSpaces,
    });
    if (Number.isFinite(this.modelMaxLength)) config.model_max_length = this.modelMaxLength;
    await writeFile(files[1]!, JSON.stringify(config, null, 2) + "\n");
    await writeFile(files[2]!, JSON.stringify(specialMap, null, 2) + "\n");
    return files;
  }

  /** The template variables transformers passes for special tokens: bos_token, eos_token, ... */
  private templateSpecialTokens(): Record<string, unknown> {
    const vars: Record<string, unknown> = {};
    for (const role of SPECIAL_ROLES) if (this.special[role] !== undefined) vars[`${role}_token`] = this.special[role];
    vars.additional_special_tokens = [...this.additional];
    return vars;
  }

  private async encodeChat(messages: readonly ChatMessage[], render: (m: readonly ChatMessage[], g: boolean) => string): Promise<ChatEncoding> {
    const { text, spans, unlocated } = assistantSpans(messages, render);
    const enc = await this.call(text, { addSpecialTokens: false, returnTokenTypeIds: false, returnOffsetsMapping: true });
    const inputIds = enc.inputIds[0]!;
    const assistantMasks = new Array<number>(inputIds.length).fill(0);
    spansToTokens(text, enc.offsetMapping![0]!, spans).forEach((t, k) => {
      if (t === null) unlocated.push(spans[k]!.message);
      else assistantMasks.fill(1, t.first, t.last + 1);
    });
    return { inputIds, assistantMasks, unlocatedTurns: unlocated.sort((a, b) => a - b), text };
  }

  private setSpecial(role: SpecialRole, token: string | undefined): void {
    if (token !== undefined && this.backendTokenizer.tokenToId(token) === null) {
      throw new Error(
        `${JSON.stringify(token)} is not in the vocabulary; add it with addSpecialTokens({ ${role}Token: ${JSON.stringify(token)} })`,
      );
    }
    this.special[role] = token;
  }

  private specialId(role: SpecialRole): number | undefined {
    const token = this.special[role];
    return token === undefined ? undefined : (this.backendTokenizer.tokenToId(token) ?? undefined);
  }

  /**
   * Single texts are encoded with their special tokens in one parallel batch; only the rows over
   * maxLength go through the slower truncate-then-post-process path.
   */
  private async encodeSingles(texts: string[], addSpecial: boolean, strategies: ResolvedStrategies, side: Side): Promise<Encoding[]> {
    const encodings = await this.encodeBatch(texts, addSpecial);
    if (strategies.truncation === "none") return encodings;
    const long = encodings.flatMap((e, i) => (e.getLength() > strategies.maxLength! ? [i] : []));
    if (long.length === 0) return encodings;
    const budget = await this.budget(strategies.maxLength!, addSpecial, false);
    const raw = addSpecial ? await this.encodeBatch(long.map((i) => texts[i]!), false) : long.map((i) => encodings[i]!);
    long.forEach((row, k) => {
      const e = raw[k]!;
      e.truncate(truncatedLengths(e.getLength(), undefined, budget, strategies.truncation)[0], 0, side);
      encodings[row] = addSpecial ? this.backendTokenizer.postProcess(e, null, true) : e;
    });
    return encodings;
  }

  /** The binding's encodeBatch takes no pairs: both sides are encoded alone, truncated, then joined. */
  private async encodePairs(
    firsts: string[],
    seconds: string[],
    addSpecial: boolean,
    strategies: ResolvedStrategies,
    side: Side,
  ): Promise<Encoding[]> {
    const [encA, encB] = await Promise.all([this.encodeBatch(firsts, false), this.encodeBatch(seconds, false)]);
    const budget = strategies.truncation === "none" ? Infinity : await this.budget(strategies.maxLength!, addSpecial, true);
    return encA.map((a, i) => {
      const b = encB[i]!;
      const [keepA, keepB] = truncatedLengths(a.getLength(), b.getLength(), budget, strategies.truncation);
      if (keepA < a.getLength()) a.truncate(keepA, 0, side);
      if (keepB! < b.getLength()) b.truncate(keepB!, 0, side);
      return this.backendTokenizer.postProcess(a, b, addSpecial);
    });
  }

  private encodeBatch(texts: string[], addSpecialTokens: boolean): Promise<Encoding[]> {
    return texts.length === 0 ? Promise.resolve([]) : this.backendTokenizer.encodeBatch(texts, { addSpecialTokens });
  }

  /** Tokens left for the text once the special tokens (e.g. 2 for a BERT single, 3 for a pair) are counted. */
  private async budget(maxLength: number, addSpecial: boolean, pair: boolean): Promise<number> {
    this.addedCounts ??= this.backendTokenizer.encode("", null, { addSpecialTokens: false }).then((empty) => ({
      single: this.backendTokenizer.postProcess(empty, null, true).getLength(),
      pair: this.backendTokenizer.postProcess(empty, empty, true).getLength(),
    }));
    const counts = await this.addedCounts;
    const added = !addSpecial ? 0 : pair ? counts.pair : counts.single;
    if (maxLength < added) throw new Error(`maxLength ${maxLength} leaves no room for the ${added} special tokens`);
    return maxLength - added;
  }

  private cleanUp(text: string, opts: DecodeOptions): string {
    return (opts.cleanUpTokenizationSpaces ?? this.cleanUpTokenizationSpaces) ? cleanUpTokenization(text) : text;
  }
}

/** The binding reports offsets in Unicode code points; JS strings index UTF-16 code units. */
function utf16Offsets(text: string, offsets: number[][], shift: number): [number, number][] {
  if (!/[\uD800-\uDBFF]/.test(text)) return offsets.map(([s, e]) => [s! + shift, e! + shift]);
  const at: number[] = [];
  let u = shift;
  for (const ch of text) { at.push(u); u += ch.length; }
  at.push(u);
  return offsets.map(([s, e]) => [at[s!]!, at[e!]!]);
}

function checkIds(ids: number[]): void {
  const bad = ids.find((id) => !Number.isInteger(id) || id < 0);
  if (bad !== undefined) throw new RangeError(`cannot decode token id ${bad}`);
}

/** HF's clean_up_tokenization: drops the spaces a word-level detokenizer leaves before punctuation. */
function cleanUpTokenization(text: string): string {
  return text
    .replaceAll(" .", ".")
    .replaceAll(" ?", "?")
    .replaceAll(" !", "!")
    .replaceAll(" ,", ",")
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

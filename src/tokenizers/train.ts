// Tokenizer training through the `tokenizers` binding. The node binding exposes only
// `Tokenizer.train(files)`, which runs the model's default trainer: vocab_size 30000, min_frequency 0,
// no special tokens, no initial alphabet, and no way to change any of them. What the HF trainers'
// options would do is applied afterwards, exactly where possible:
// - vocabSize: the BPE trainer (WordPiece trains through it too) adds one token per merge, in merge
//   order, and stops when the vocabulary is full, so a smaller vocabSize yields a prefix of the
//   default run. Keeping the first vocabSize tokens (alphabet always kept, as the trainer does)
//   reproduces it; merge tie-breaks compare token ids, which shifting every id by the number of special
//   tokens leaves in the same order.
// - specialTokens: the trainer puts them first (ids 0..k-1); so do we.
// - the byte-level alphabet (HF's ByteLevelBPETokenizer passes initial_alphabet = all 256 byte symbols):
//   added to the alphabet in code-point order, as the trainer sorts it.
// min_frequency cannot be reproduced from the trained result (merge counts are not reported), so it is
// not offered. The binding also prints a few blank lines to stdout while training (Rust println!).
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tokenizers from "tokenizers";
import { defaultModelInputNames, type JsonObject, type SpecialRole, type SpecialTokens } from "./config.js";
import { PreTrainedTokenizer } from "./pretrained-tokenizer.js";
import {
  byteLevelBpeTokenizerJson,
  ensureSpecialTokens,
  parseTokenizerJson,
  tokenizerFromJson,
  wordPieceTokenizerJson,
  type TokenizerJson,
} from "./tokenizer-json.js";

/** Text files (read line by line), or texts given in memory. */
export type TrainingCorpus = { files: string[] } | { texts: Iterable<string> };

interface CommonTrainOptions {
  /** Including special tokens; the alphabet is always kept even when that exceeds it. At most 30000 + specials. */
  vocabSize?: number;
  specialTokens?: string[];
  /** Special tokens after specialTokens (or the defaults), such as a chat template's <|im_start|> and <|im_end|>. */
  additionalSpecialTokens?: string[];
  modelMaxLength?: number;
}

export interface TrainWordPieceOptions extends CommonTrainOptions {
  lowercase?: boolean;
}

export interface TrainByteLevelBpeOptions extends CommonTrainOptions {
  addPrefixSpace?: boolean;
}

const DEFAULT_TRAINER_VOCAB = 30000;

/** Special-token roles implied by the usual names; other names become additional special tokens. */
const ROLES_BY_NAME: Record<string, SpecialRole[]> = {
  "[PAD]": ["pad"],
  "[UNK]": ["unk"],
  "[CLS]": ["cls"],
  "[SEP]": ["sep"],
  "[MASK]": ["mask"],
  "<|endoftext|>": ["bos", "eos", "unk"],
  "<s>": ["bos"],
  "</s>": ["eos"],
  "<pad>": ["pad"],
  "<unk>": ["unk"],
  "<mask>": ["mask"],
};

export async function trainWordPieceTokenizer(
  corpus: TrainingCorpus,
  opts: TrainWordPieceOptions = {},
): Promise<PreTrainedTokenizer> {
  const specials = withAdditional(opts.specialTokens ?? ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], opts);
  const roles = rolesOf(specials);
  if (roles.unk === undefined) throw new Error('WordPiece needs an unknown token: include "[UNK]" in specialTokens');
  const lowercase = opts.lowercase ?? true;
  const build = (vocab: Record<string, number>, withTemplate: boolean) =>
    wordPieceTokenizerJson({
      vocab,
      unkToken: roles.unk!,
      lowercase,
      stripAccents: null,
      handleChineseChars: true,
      ...(withTemplate ? { clsToken: roles.cls, sepToken: roles.sep } : {}),
    });

  const trained = await runTrainer(build({}, false), corpus);
  const learned = tokensById(trained.model.vocab as Record<string, number>);
  const alphabetSize = leadingCount(learned, (t) => [...t.replace(/^##/, "")].length === 1);
  const kept = learned.slice(0, Math.max(learnedRoom(opts.vocabSize, specials, learned.length, learned.length), alphabetSize));
  const doc = build(indexTokens([...specials, ...kept.filter((t) => !specials.includes(t))]), true);
  return wrap(doc, specials, roles, opts, { tokenizer_class: "BertTokenizer", do_lower_case: lowercase });
}

export async function trainByteLevelBpeTokenizer(
  corpus: TrainingCorpus,
  opts: TrainByteLevelBpeOptions = {},
): Promise<PreTrainedTokenizer> {
  const specials = withAdditional(opts.specialTokens ?? ["<|endoftext|>"], opts);
  const addPrefixSpace = opts.addPrefixSpace ?? false;
  const trained = await runTrainer(byteLevelBpeTokenizerJson({ vocab: {}, merges: [], addPrefixSpace }), corpus);
  const learned = tokensById(trained.model.vocab as Record<string, number>);
  const seenAlphabetSize = leadingCount(learned, (t) => [...t].length === 1);
  const alphabet = [...new Set([...tokenizers.byteLevelAlphabet(), ...learned.slice(0, seenAlphabetSize)])].sort(
    (a, b) => a.codePointAt(0)! - b.codePointAt(0)!,
  );
  const mergedTokens = learned.slice(seenAlphabetSize);
  const available = alphabet.length + mergedTokens.length;
  const room = Math.max(0, learnedRoom(opts.vocabSize, specials, available, learned.length) - alphabet.length);
  const keptMerged = mergedTokens.slice(0, room);
  const vocab = indexTokens([...specials, ...[...alphabet, ...keptMerged].filter((t) => !specials.includes(t))]);

  // The trainer stops right after the merge that fills the vocabulary; later merges whose result
  // already existed would not have run either.
  const merges: [string, string][] = [];
  const last = keptMerged.at(-1);
  for (const merge of mergePairs(trained.model.merges)) {
    if (!(merge[0] + merge[1] in vocab)) break;
    merges.push(merge);
    if (room < mergedTokens.length && merge[0] + merge[1] === last) break;
  }
  const doc = byteLevelBpeTokenizerJson({ vocab, merges, addPrefixSpace });
  return wrap(doc, specials, rolesOf(specials), opts, { tokenizer_class: "GPT2Tokenizer", add_prefix_space: addPrefixSpace });
}

async function runTrainer(untrained: TokenizerJson, corpus: TrainingCorpus): Promise<TokenizerJson> {
  const dir = await mkdtemp(join(tmpdir(), "finetune-tokenizer-"));
  try {
    let files: string[];
    if ("files" in corpus) {
      files = corpus.files;
      for (const f of files) {
        if (!(await stat(f).catch(() => undefined))?.isFile()) throw new Error(`${f}: training file not found`);
      }
    } else {
      files = [join(dir, "corpus.txt")];
      await writeFile(files[0]!, [...corpus.texts].join("\n"));
    }
    const backend = tokenizerFromJson(untrained, "untrained tokenizer");
    backend.train(files);
    const out = join(dir, "trained.json");
    backend.save(out);
    return parseTokenizerJson(await readFile(out, "utf8"), out);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * How many learned tokens (alphabet included) fit in vocabSize next to the special tokens. `available`
 * is how many there are; past the default trainer's cap the binding cannot learn more.
 */
function learnedRoom(vocabSize: number | undefined, specials: string[], available: number, trainedSize: number): number {
  const size = vocabSize ?? DEFAULT_TRAINER_VOCAB;
  if (!Number.isInteger(size) || size <= 0) throw new Error(`vocabSize must be a positive integer, got ${size}`);
  const room = size - specials.length;
  if (room > available && trainedSize >= DEFAULT_TRAINER_VOCAB) {
    throw new Error(
      `vocabSize ${size} is beyond what the tokenizers binding can train: its default trainer stops at ` +
        `${DEFAULT_TRAINER_VOCAB} tokens plus special tokens`,
    );
  }
  return room;
}

function tokensById(vocab: Record<string, number>): string[] {
  return Object.entries(vocab)
    .sort((a, b) => a[1] - b[1])
    .map(([token]) => token);
}

function leadingCount(tokens: string[], test: (t: string) => boolean): number {
  const i = tokens.findIndex((t) => !test(t));
  return i === -1 ? tokens.length : i;
}

function indexTokens(tokens: string[]): Record<string, number> {
  return Object.fromEntries(tokens.map((t, i) => [t, i]));
}

/** Merges as pairs, from either serialization ("a b" strings or [a, b] arrays). */
function mergePairs(merges: unknown): [string, string][] {
  if (!Array.isArray(merges)) return [];
  return merges.map((m) => (typeof m === "string" ? (m.split(" ") as [string, string]) : (m as [string, string])));
}

function withAdditional(specials: string[], opts: CommonTrainOptions): string[] {
  return [...new Set([...specials, ...(opts.additionalSpecialTokens ?? [])])];
}

function rolesOf(specials: string[]): SpecialTokens {
  const roles: SpecialTokens = {};
  for (const token of specials) for (const role of ROLES_BY_NAME[token] ?? []) roles[role] ??= token;
  return roles;
}

function wrap(
  doc: TokenizerJson,
  specials: string[],
  roles: SpecialTokens,
  opts: CommonTrainOptions,
  config: JsonObject,
): PreTrainedTokenizer {
  ensureSpecialTokens(doc, specials);
  const roleTokens = new Set(Object.values(roles));
  return new PreTrainedTokenizer(tokenizerFromJson(doc, "trained tokenizer"), {
    specialTokens: roles,
    additionalSpecialTokens: specials.filter((t) => !roleTokens.has(t)),
    modelMaxLength: opts.modelMaxLength ?? Infinity,
    paddingSide: "right",
    truncationSide: "right",
    modelInputNames: defaultModelInputNames(config, doc.model.type!),
    cleanUpTokenizationSpaces: false,
    config,
  });
}

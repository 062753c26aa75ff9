// Text packed into fixed-length blocks, as transformers' run_mlm / run_clm group_texts does: every document
// is tokenized, the token streams are concatenated, and the result is cut into blockSize pieces (the
// remainder shorter than a block is dropped). So no position is padding and no compute is wasted.
import { Generator } from "../tensor/index.js";
import type { PreTrainedTokenizer } from "../tokenizers/index.js";

export interface PackOptions {
  blockSize: number;
  /** Masked LM: [CLS] document [SEP] from the tokenizer's template. Causal LM: the document then EOS. */
  objective: "mlm" | "clm";
}

const DOCS_PER_CALL = 256;

/** Blocks of exactly blockSize token ids, in document order. */
export async function packBlocks(tokenizer: PreTrainedTokenizer, documents: readonly string[], opts: PackOptions): Promise<Int32Array[]> {
  if (!Number.isInteger(opts.blockSize) || opts.blockSize < 2) throw new RangeError(`blockSize must be an integer >= 2, got ${opts.blockSize}`);
  const eos = opts.objective === "clm" ? tokenizer.eosTokenId : undefined;
  if (opts.objective === "clm" && eos === undefined) throw new Error("causal-LM packing needs an EOS token between documents; the tokenizer has none");
  const blocks: Int32Array[] = [];
  let current = new Int32Array(opts.blockSize);
  let filled = 0;
  for (let s = 0; s < documents.length; s += DOCS_PER_CALL) {
    const texts = documents.slice(s, s + DOCS_PER_CALL);
    const { inputIds } = await tokenizer.call(texts, { addSpecialTokens: opts.objective === "mlm", truncation: false, returnTokenTypeIds: false });
    for (const ids of inputIds) {
      for (const id of eos === undefined ? ids : [...ids, eos]) {
        current[filled++] = id;
        if (filled === opts.blockSize) {
          blocks.push(current);
          current = new Int32Array(opts.blockSize);
          filled = 0;
        }
      }
    }
  }
  return blocks;
}

/** Sentence ends: ., ! or ? (a closing quote or bracket may follow), then space, then what starts a sentence. */
const SENTENCE_END = /(?<=[.!?]["')\]]?)\s+(?=["'(\[]?[A-Z0-9])/;
const MIN_WORDS = 3;

/** The sentences of the documents, whitespace collapsed, fragments under three words left out: what single-sentence
 *  rows are drawn from, and what a teacher encoder embeds for `--distill-sentences`. */
export function documentSentences(documents: readonly string[]): string[] {
  const out: string[] = [];
  for (const doc of documents) {
    for (const s of doc.split(SENTENCE_END)) {
      const sentence = s.replace(/\s+/g, " ").trim();
      if (sentence.split(" ").length >= MIN_WORDS) out.push(sentence);
    }
  }
  return out;
}

/** `count` of the items drawn without replacement (all of them, shuffled, when there are fewer), fixed by the seed:
 *  a partial Fisher-Yates shuffle of a copy. */
export function seededDraw<T>(items: readonly T[], count: number, seed: number): T[] {
  const gen = new Generator(seed);
  const out = [...items];
  const n = Math.min(count, out.length);
  for (let i = 0; i < n; i++) {
    const j = i + gen.int(out.length - i);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out.slice(0, n);
}

/** Single sentences as rows of their own, `[CLS] sentence [SEP]` and no padding, cut at maxLength tokens. A
 *  sentence classifier reads [CLS] of one short sentence followed by padding, which packed blocks never show (their
 *  position 0 is wherever a cut fell, in the middle of a long context), so a masked-LM run can mix these rows in. */
export async function sentenceRows(tokenizer: PreTrainedTokenizer, sentences: readonly string[], maxLength: number): Promise<Int32Array[]> {
  const rows: Int32Array[] = [];
  for (let s = 0; s < sentences.length; s += DOCS_PER_CALL) {
    const { inputIds } = await tokenizer.call(sentences.slice(s, s + DOCS_PER_CALL), { addSpecialTokens: true, truncation: true, maxLength, returnTokenTypeIds: false });
    for (const ids of inputIds) rows.push(Int32Array.from(ids));
  }
  return rows;
}

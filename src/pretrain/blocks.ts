// Text packed into fixed-length blocks, as transformers' run_mlm / run_clm group_texts does: every document
// is tokenized, the token streams are concatenated, and the result is cut into blockSize pieces (the
// remainder shorter than a block is dropped). So no position is padding and no compute is wasted.
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

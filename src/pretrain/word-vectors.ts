// Word-vector distillation beside masked-LM: pretrained word vectors (GloVe's text format) hold what a small
// corpus cannot teach (GloVe 6B saw six billion tokens), and a small encoder pretrained on a few million tokens
// learns little a sentence classifier can use from its [CLS] state. So the encoder's last hidden states are
// also asked to carry the vectors: at every token that is a word, the vector of that word (masked or not, so
// a masked position predicts its word's meaning as well as its id); at position 0, where a classifier reads
// [CLS], the mean vector of the row's words (a packed block's, or a single sentence's). The loss reads the
// first k coordinates of the hidden state (a fixed subspace: the network is free to rotate its representation
// into it), so there is no extra head and the saved model is the plain masked LM.
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { IGNORE_INDEX } from "../data/collate.js";
import { Tensor, add, div, indexSelect, mean, mul, reshape, slice, sqrt, sub, sum } from "../tensor/index.js";
import type { PreTrainedTokenizer } from "../tokenizers/index.js";

/** Per token id, its word's vector (unit length) when the token is a whole word the table has. */
export interface WordVectorTargets {
  dim: number;
  /** [vocab * dim] */
  vectors: Float32Array;
  /** 1 where the token has a vector. */
  covered: Uint8Array;
  /** Tokens with a vector, of the tokenizer's vocabulary. */
  coveredCount: number;
}

/** The word a token stands for, or null for a piece inside a word (WordPiece's "##" continuation) or a special
 *  token. Byte-level BPE's "Ġ" and SentencePiece's "▁" mark a word's start; vectors tables are lower-case. */
function tokenWord(token: string, special: boolean): string | null {
  if (special || token.startsWith("##")) return null;
  const word = token.replace(/^[Ġ▁]/, "").toLowerCase();
  return word.length > 0 ? word : null;
}

/** Reads a GloVe-format text file ("word v1 v2 ... vk" per line) keeping only the tokenizer's words. */
export async function readWordVectorTargets(file: string, tokenizer: PreTrainedTokenizer): Promise<WordVectorTargets> {
  const vocab = tokenizer.getVocab();
  const special = new Set(tokenizer.allSpecialIds);
  const idsOf = new Map<string, number[]>();
  for (const [token, id] of Object.entries(vocab)) {
    const word = tokenWord(token, special.has(id));
    if (word !== null) idsOf.set(word, [...(idsOf.get(word) ?? []), id]);
  }
  const size = tokenizer.length;
  let dim = 0, vectors = new Float32Array(0), coveredCount = 0, lineNo = 0;
  const covered = new Uint8Array(size);
  for await (const line of createInterface({ input: createReadStream(file, "utf8"), crlfDelay: Infinity })) {
    lineNo++;
    if (!line.trim()) continue;
    const parts = line.trimEnd().split(" ");
    if (dim === 0) {
      dim = parts.length - 1;
      if (dim < 1) throw new Error(`${file}:${lineNo}: expected "word v1 v2 ...", found one field`);
      vectors = new Float32Array(size * dim);
    }
    if (parts.length - 1 !== dim) throw new Error(`${file}:${lineNo}: ${parts.length - 1} numbers, the first line had ${dim}`);
    const ids = idsOf.get(parts[0]);
    if (!ids) continue;
    const v = parts.slice(1).map(Number);
    const bad = v.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new Error(`${file}:${lineNo}: "${parts[bad + 1]}" is not a number`);
    for (const id of ids) {
      if (covered[id]) continue;
      vectors.set(v, id * dim);
      covered[id] = 1;
      coveredCount++;
    }
  }
  if (dim === 0) throw new Error(`${file}: no word vectors`);
  if (coveredCount === 0) throw new Error(`${file}: none of the tokenizer's words has a vector`);
  centreAndNormalise(vectors, covered, dim);
  return { dim, vectors, covered, coveredCount };
}

/** Word vectors share a common direction (frequency, not meaning: Mu and Viswanath 2018, "All-but-the-top"): in
 *  GloVe's 100-d vectors the vocabulary's mean is large beside what separates "good" from "bad". A cosine loss
 *  against raw vectors is then met by the common direction, and an encoder that matched a sentence's mean vector
 *  to cosine 0.95 still carried too little of the rest for a linear probe of sentiment. So the covered rows are
 *  centred on their mean, then scaled to unit length. */
function centreAndNormalise(vectors: Float32Array, covered: Uint8Array, dim: number): void {
  const centre = new Float64Array(dim);
  let n = 0;
  for (let id = 0; id < covered.length; id++) {
    if (!covered[id]) continue;
    for (let j = 0; j < dim; j++) centre[j] += vectors[id * dim + j];
    n++;
  }
  for (let id = 0; id < covered.length; id++) {
    if (!covered[id]) continue;
    const row = vectors.subarray(id * dim, (id + 1) * dim);
    for (let j = 0; j < dim; j++) row[j] -= centre[j] / n;
    const norm = Math.hypot(...row);
    for (let j = 0; j < dim; j++) row[j] = norm > 0 ? row[j] / norm : 0;
  }
}

/** Writes each covered word's vector into the first `dim` coordinates of its row of the input embedding, scaled
 *  to the mean norm those coordinates had over the covered rows. Distillation alone moves a word's embedding
 *  only on the steps that draw the word, so after 4,000 steps the last hidden states matched the vectors of
 *  words in SST-2 sentences to cosine 0.77 on average, and a linear probe of sentiment on [CLS] gained only 2-3
 *  points; started from the vectors, the model has them for rare words too. With `firstNewId`, only the rows from
 *  that id on are written, scaled to the norm of the covered rows before it: words added to a vocabulary whose
 *  embeddings already carry the vectors (after 15,000 steps the bundled encoder's whole-word rows still matched
 *  theirs to cosine 0.96). */
export function initEmbeddingsFromVectors(embedding: Tensor, t: WordVectorTargets, firstNewId = 0): void {
  const [rows, width] = embedding.shape;
  if (t.dim > width) throw new RangeError(`word vectors have ${t.dim} dimensions, the embeddings only ${width}`);
  const data = embedding.data as Float32Array;
  const end = Math.min(rows, t.covered.length);
  let normSum = 0, n = 0;
  for (let id = 0; id < (firstNewId > 0 ? firstNewId : end); id++) {
    if (!t.covered[id]) continue;
    normSum += Math.hypot(...data.subarray(id * width, id * width + t.dim));
    n++;
  }
  const scale = n > 0 ? normSum / n : 0;
  for (let id = firstNewId; id < end; id++) {
    if (!t.covered[id]) continue;
    for (let k = 0; k < t.dim; k++) data[id * width + k] = scale * t.vectors[id * t.dim + k];
  }
}

/** 1 - cosine between coordinates [offset, offset + dim) of the rows of `h` and the target rows, averaged. */
export function cosineDistance(h: Tensor, targets: Float32Array, dim: number, offset = 0): Tensor {
  const rows = h.shape[0];
  const p = slice(h, 1, offset, offset + dim);
  const unit = div(p, sqrt(sum(mul(p, p), 1, true)));
  return sub(1, mean(sum(mul(unit, new Tensor(targets, [rows, dim])), 1)));
}

/** The distillation loss of a masked-LM batch: `inputIds` as masked, `labels` the original ids at the chosen
 *  positions (-100 elsewhere), `h` the last hidden states [B, L, hidden]. */
export function wordVectorLoss(h: Tensor, inputIds: Tensor, labels: Tensor, attentionMask: Tensor, t: WordVectorTargets): Tensor {
  const [b, l, d] = h.shape;
  if (t.dim > d) throw new RangeError(`word vectors have ${t.dim} dimensions, the hidden state only ${d}`);
  const tokenRows: number[] = [], firstRows: number[] = [];
  const tokenTargets: number[] = [], firstTargets: number[] = [];
  for (let i = 0; i < b; i++) {
    const blockMean = new Float64Array(t.dim);
    let words = 0;
    for (let j = 0; j < l; j++) {
      const at = i * l + j;
      if (!attentionMask.data[at]) continue;
      const id = labels.data[at] !== IGNORE_INDEX ? labels.data[at] : inputIds.data[at];
      if (!t.covered[id]) continue;
      const v = t.vectors.subarray(id * t.dim, (id + 1) * t.dim);
      for (let k = 0; k < t.dim; k++) blockMean[k] += v[k];
      words++;
      if (j > 0) { tokenRows.push(at); tokenTargets.push(...v); }
    }
    const norm = Math.hypot(...blockMean);
    if (words === 0 || norm === 0) continue;
    firstRows.push(i * l);
    for (const x of blockMean) firstTargets.push(x / norm);
  }
  const flat = reshape(h, [b * l, d]);
  const parts: Tensor[] = [];
  if (tokenRows.length) parts.push(cosineDistance(indexSelect(flat, 0, tokenRows), Float32Array.from(tokenTargets), t.dim));
  if (firstRows.length) parts.push(cosineDistance(indexSelect(flat, 0, firstRows), Float32Array.from(firstTargets), t.dim));
  if (parts.length === 0) return new Tensor(new Float32Array(1), []);
  return parts.length === 1 ? parts[0] : mul(add(parts[0], parts[1]), 0.5);
}

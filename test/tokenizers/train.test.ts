import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { AutoTokenizer, trainByteLevelBpeTokenizer, trainWordPieceTokenizer } from "../../src/tokenizers/index.js";

const shakespeare = fileURLToPath(new URL("../data/lm/tiny_shakespeare/input.txt", import.meta.url));
const lines = (await readFile(shakespeare, "utf8")).split("\n").slice(0, 400);
const scratch = await mkdtemp(join(tmpdir(), "tokenizer-train-"));
after(() => rm(scratch, { recursive: true, force: true }));

test("WordPiece training on a few hundred lines of Shakespeare", async () => {
  const tok = await trainWordPieceTokenizer({ texts: lines }, { vocabSize: 600 });
  assert.equal(tok.length, 600);
  assert.deepEqual(tok.convertIdsToTokens([0, 1, 2, 3, 4]), ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]);
  assert.deepEqual([tok.padTokenId, tok.unkTokenId, tok.clsTokenId, tok.sepTokenId, tok.maskTokenId], [0, 1, 2, 3, 4]);
  assert.deepEqual(await tok.tokenize("First Citizen:"), ["first", "citizen", ":"]);
  const ids = await tok.encode("Before we proceed any further, hear me speak.");
  assert.equal(ids[0], 2);
  assert.equal(ids.at(-1), 3);
  assert.equal(await tok.decode(ids, { skipSpecialTokens: true }), "before we proceed any further, hear me speak.");
  assert.deepEqual(await tok.tokenize("Zebra"), ["z", "##e", "##b", "##r", "##a"], "unseen words fall back to pieces");
  assert.deepEqual(await tok.tokenize("日"), ["[UNK]"]);

  const dir = join(scratch, "wordpiece");
  await tok.savePretrained(dir);
  const reloaded = await AutoTokenizer.fromPretrained(dir);
  const batch = lines.slice(0, 20);
  assert.deepEqual(await reloaded.call(batch, { padding: true }), await tok.call(batch, { padding: true }));
  assert.ok((await reloaded.call("a", { textPair: "b" })).tokenTypeIds, "saved as a BERT tokenizer: type ids are model inputs");
});

// The binding's trainer numbers "##x" pieces in hash-map order, so two runs can differ in ids and in
// merge tie-breaks; only properties that survive that are checked.
test("vocabSize bounds the vocabulary, training from files", async () => {
  const file = join(scratch, "corpus.txt");
  await writeFile(file, lines.join("\n"));
  const big = await trainWordPieceTokenizer({ files: [file] }, { vocabSize: 800, lowercase: false });
  const small = await trainWordPieceTokenizer({ files: [file] }, { vocabSize: 300, lowercase: false });
  assert.equal(small.length, 300);
  const bigVocab = big.getVocab();
  const alphabet = Object.entries(small.getVocab()).filter(([t, id]) => id >= 5 && [...t.replace(/^##/, "")].length === 1);
  for (const [token] of alphabet) assert.ok(token in bigVocab, token);
  assert.ok((await small.tokenize("Citizen")).length >= (await big.tokenize("Citizen")).length);
  await assert.rejects(trainWordPieceTokenizer({ files: [join(scratch, "nope.txt")] }), /nope\.txt: training file not found/);
});

test("byte-level BPE training covers all 256 bytes and round-trips any text", async () => {
  const tok = await trainByteLevelBpeTokenizer({ texts: lines }, { vocabSize: 400 });
  assert.equal(tok.length, 400);
  assert.equal(tok.convertIdsToTokens(0), "<|endoftext|>");
  assert.equal(tok.eosTokenId, 0);
  assert.equal(tok.bosTokenId, 0);
  assert.equal(tok.padTokenId, undefined);
  for (const text of ["First Citizen:\nBefore we proceed", "Unseen bytes: 🙂 ñ 日本 \u0000"]) {
    assert.equal(await tok.decode(await tok.encode(text)), text);
  }
  assert.ok((await tok.encode("First Citizen")).length < "First Citizen".length, "merges were learned");

  const dir = join(scratch, "bpe");
  await tok.savePretrained(dir);
  const reloaded = await AutoTokenizer.fromPretrained(dir);
  for (const line of lines.slice(0, 30)) assert.deepEqual(await reloaded.encode(line), await tok.encode(line));
});

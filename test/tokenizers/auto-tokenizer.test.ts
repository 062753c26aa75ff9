import assert from "node:assert/strict";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { AutoTokenizer } from "../../src/tokenizers/index.js";

const tokenizersDir = fileURLToPath(new URL("../data/tokenizers/", import.meta.url));
const bert = await AutoTokenizer.fromPretrained(join(tokenizersDir, "bert-base-uncased"));
const gpt2 = await AutoTokenizer.fromPretrained(join(tokenizersDir, "gpt2"));
const phi3 = await AutoTokenizer.fromPretrained(join(tokenizersDir, "phi-3-mini"));
const scratch = await mkdtemp(join(tmpdir(), "tokenizer-test-"));
after(() => rm(scratch, { recursive: true, force: true }));

const sentences = [
  "Hello world",
  "The quick brown fox jumps over the lazy dog.",
  "Unbelievably, tokenizers don't split naïve café words the same way!",
  "  leading spaces and 123,456 numbers\tand tabs",
];

async function dirWith(name: string, source: string, files: string[]): Promise<string> {
  const dir = join(scratch, name);
  await mkdir(dir, { recursive: true });
  for (const f of files) await copyFile(join(tokenizersDir, source, f), join(dir, f));
  return dir;
}

test("bert-base-uncased: vocabulary and special tokens", async () => {
  assert.deepEqual(bert.convertTokensToIds(["hello", "world"]), [7592, 2088]);
  assert.deepEqual(
    [bert.padTokenId, bert.unkTokenId, bert.clsTokenId, bert.sepTokenId, bert.maskTokenId],
    [0, 100, 101, 102, 103],
  );
  assert.equal(bert.bosTokenId, undefined);
  assert.equal(bert.vocabSize, 30522);
  assert.equal(bert.modelMaxLength, 512);
  assert.deepEqual(await bert.encode("Hello world"), [101, 7592, 2088, 102]);
  assert.deepEqual(await bert.encode("Hello world", { addSpecialTokens: false }), [7592, 2088]);
  assert.deepEqual(await bert.tokenize("Hello unbelievable"), ["hello", "unbelievable"]);
  assert.equal(bert.convertTokensToIds("qwxzqwxz-not-a-token"), 100);
});

test("bert-base-uncased: a text pair gets token type ids", async () => {
  const enc = await bert.call("Hello world", { textPair: "good bye" });
  assert.deepEqual(enc.inputIds, [[101, 7592, 2088, 102, 2204, 9061, 102]]);
  assert.deepEqual(enc.tokenTypeIds, [[0, 0, 0, 0, 1, 1, 1]]);
  assert.deepEqual(enc.attentionMask, [[1, 1, 1, 1, 1, 1, 1]]);
});

test("gpt2: byte-level BPE ids, no pad token", async () => {
  assert.deepEqual(gpt2.convertTokensToIds(["Hello", "Ġworld"]), [15496, 995]);
  assert.deepEqual(await gpt2.encode("Hello world"), [15496, 995]);
  assert.equal(gpt2.eosToken, "<|endoftext|>");
  assert.equal(gpt2.eosTokenId, 50256);
  assert.equal(gpt2.bosTokenId, 50256);
  assert.equal(gpt2.padTokenId, undefined);
  assert.equal(gpt2.modelMaxLength, 1024);
  assert.equal((await gpt2.call("Hello world")).tokenTypeIds, undefined, "GPT-2 does not use token type ids");
});

test("phi-3-mini: SentencePiece-style BPE, add_bos_token false", async () => {
  assert.equal(phi3.convertTokensToIds("▁Hello"), 15043);
  assert.deepEqual(await phi3.encode("Hello world"), [15043, 3186]);
  assert.equal(phi3.bosToken, "<s>");
  assert.equal(phi3.bosTokenId, 1);
  assert.equal(phi3.eosTokenId, 32000);
  assert.equal(phi3.padTokenId, 32000);
  assert.equal(phi3.unkTokenId, 0);
  assert.equal(phi3.paddingSide, "left");
  assert.equal(phi3.vocabSize, 32000);
  assert.equal(phi3.length, 32011);
  // <|user|> is rstrip: it swallows the newline after it.
  assert.deepEqual(await phi3.encode("<|user|>\nHi<|end|>"), [32010, phi3.convertTokensToIds("▁Hi"), 32007]);
  assert.equal(await phi3.decode([15043, 3186]), "Hello world");
});

test("phi-3-mini: addBosToken override puts <s> back", async () => {
  const withBos = await AutoTokenizer.fromPretrained(join(tokenizersDir, "phi-3-mini"), { addBosToken: true });
  assert.deepEqual(await withBos.encode("Hello world"), [1, 15043, 3186]);
  assert.deepEqual(await withBos.encode("Hello world", { addSpecialTokens: false }), [15043, 3186]);
});

test("vocab.txt alone builds the same BERT tokenizer as tokenizer.json", async () => {
  const dir = await dirWith("bert-vocab-only", "bert-base-uncased", ["vocab.txt", "tokenizer_config.json"]);
  const fromVocab = await AutoTokenizer.fromPretrained(dir);
  for (const s of sentences) assert.deepEqual(await fromVocab.encode(s), await bert.encode(s), s);
  const pair = { textPair: "second segment here" };
  assert.deepEqual(await fromVocab.call(sentences[1]!, pair), await bert.call(sentences[1]!, pair));
  assert.equal(await fromVocab.decode(await fromVocab.encode(sentences[1]!), { skipSpecialTokens: true }), "the quick brown fox jumps over the lazy dog.");
  assert.equal(fromVocab.maskTokenId, 103);
});

test("vocab.json + merges.txt alone build the same GPT-2 tokenizer as tokenizer.json", async () => {
  const dir = await dirWith("gpt2-bpe-only", "gpt2", ["vocab.json", "merges.txt"]);
  const fromFiles = await AutoTokenizer.fromPretrained(dir);
  for (const s of [...sentences, "<|endoftext|>Hello"]) assert.deepEqual(await fromFiles.encode(s), await gpt2.encode(s), s);
  assert.equal(fromFiles.eosTokenId, 50256);
  assert.equal(fromFiles.modelMaxLength, Infinity, "no tokenizer_config.json, so no length limit");
});

test("do_lower_case false keeps case when building from vocab.txt", async () => {
  const dir = await dirWith("bert-cased", "bert-base-uncased", ["vocab.txt"]);
  await writeFile(join(dir, "tokenizer_config.json"), JSON.stringify({ do_lower_case: false }));
  const cased = await AutoTokenizer.fromPretrained(dir);
  assert.deepEqual(await cased.tokenize("Hello"), ["[UNK]"]);
});

test("special tokens given as AddedToken objects in tokenizer_config.json", async () => {
  const dir = await dirWith("added-token-objects", "bert-base-uncased", ["vocab.txt"]);
  await writeFile(
    join(dir, "tokenizer_config.json"),
    JSON.stringify({ pad_token: { content: "[MASK]", lstrip: false }, model_max_length: 8 }),
  );
  const tok = await AutoTokenizer.fromPretrained(dir);
  assert.equal(tok.padTokenId, 103);
  assert.equal(tok.modelMaxLength, 8);
});

test("a directory without tokenizer files says what it looked for", async () => {
  const dir = join(scratch, "empty");
  await mkdir(dir, { recursive: true });
  await assert.rejects(AutoTokenizer.fromPretrained(dir), (e: Error) => {
    assert.match(e.message, /no tokenizer files/);
    assert.match(e.message, /tokenizer\.json, vocab\.txt \(WordPiece\), vocab\.json \+ merges\.txt/);
    return true;
  });
  await assert.rejects(AutoTokenizer.fromPretrained(join(scratch, "missing")), /not a directory/);
});

test("a broken tokenizer.json is one clear error naming the file", async () => {
  const dir = join(scratch, "broken");
  await mkdir(dir, { recursive: true });
  const file = join(dir, "tokenizer.json");
  await writeFile(file, '{"model": {"vocab": {}, ');
  await assert.rejects(AutoTokenizer.fromPretrained(dir), (e: Error) => e.message.startsWith(`${file}: not valid JSON`));
  await writeFile(file, JSON.stringify({ model: { vocab: { a: 0 } } }));
  await assert.rejects(AutoTokenizer.fromPretrained(dir), (e: Error) => e.message.startsWith(`${file}: the "model" object has no "type"`));
  await writeFile(file, JSON.stringify({ model: { type: "Nonsense", vocab: {} } }));
  await assert.rejects(AutoTokenizer.fromPretrained(dir), (e: Error) => e.message.startsWith(`${file}: the tokenizers library rejected it`));
  await writeFile(file, JSON.stringify({ model: { type: "BPE", vocab: {}, merges: [] } }));
  await writeFile(join(dir, "tokenizer_config.json"), "{oops");
  await assert.rejects(AutoTokenizer.fromPretrained(dir), /tokenizer_config\.json: not valid JSON/);
});

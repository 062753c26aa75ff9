// RoBERTa's byte-level BPE and XLM-RoBERTa's SentencePiece Unigram tokenizers through AutoTokenizer, on the tiny
// generated tokenizers in test/data/tokenizers (their README says how they were made): the <s> A </s> and
// <s> A </s></s> B </s> templates, fairseq's special tokens (also when no tokenizer_config.json names them), no
// token type ids, and <mask> swallowing the space before it.
import assert from "node:assert/strict";
import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { AutoTokenizer } from "../../src/tokenizers/index.js";
import { DATA } from "../helpers/fixtures.js";
import { tempDir } from "../io/fixtures.js";

const folder = (name: string) => join(DATA, "tokenizers", name);
let dir = "";
let cleanup = async () => {};
before(async () => { ({ dir, cleanup } = await tempDir("roberta-tokenizers")); });
after(() => cleanup());

const specialIds = async (path: string) => {
  const t = await AutoTokenizer.fromPretrained(path);
  return [t.bosTokenId, t.padTokenId, t.eosTokenId, t.unkTokenId, t.clsTokenId, t.sepTokenId, t.maskTokenId];
};

test("RoBERTa byte-level BPE: <s> A </s>, <s> A </s></s> B </s>, no token type ids, pads with <pad> = 1", async () => {
  const t = await AutoTokenizer.fromPretrained(folder("tiny-roberta"));
  assert.deepEqual(await specialIds(folder("tiny-roberta")), [0, 1, 2, 3, 0, 2, 4]);
  assert.deepEqual(t.modelInputNames, ["input_ids", "attention_mask"]);
  const words = await t.tokenize("Hello world");
  assert.equal(words.filter((w) => w.startsWith("Ġ")).length, 1, "byte-level: the second word carries its space");
  const a = t.convertTokensToIds(words) as number[];
  assert.deepEqual(await t.encode("Hello world"), [0, ...a, 2]);
  const b = t.convertTokensToIds(await t.tokenize("good bye")) as number[];
  const pair = await t.call("Hello world", { textPair: "good bye" });
  assert.deepEqual(pair.inputIds, [[0, ...a, 2, 2, ...b, 2]]);
  assert.equal(pair.tokenTypeIds, undefined);
  const batch = await t.call(["Hello world", "Hello"], { padding: true });
  const hello = await t.encode("Hello");
  assert.deepEqual(batch.inputIds[1], [...hello, ...Array(a.length + 2 - hello.length).fill(1)]);
  assert.equal(await t.decode(await t.encode("Hello world, the fox"), { skipSpecialTokens: true }), "Hello world, the fox");
  // <mask> is lstrip, as in RoBERTa's tokenizer: "the <mask>" is "the" then <mask>, with no stray space token.
  const masked = await t.encode("the <mask> dog");
  assert.deepEqual(masked.slice(0, 3), [0, ...(t.convertTokensToIds(await t.tokenize("the")) as number[]), 4]);
});

test("without tokenizer_config.json (roberta-base and xlm-roberta-base ship none) the fairseq tokens are found", async () => {
  const bare = join(dir, "bare-roberta");
  await mkdir(bare);
  await copyFile(join(folder("tiny-roberta"), "tokenizer.json"), join(bare, "tokenizer.json"));
  assert.deepEqual(await specialIds(bare), [0, 1, 2, 3, 0, 2, 4]);
  // GPT-2's vocabulary has no <s>/<pad>: it keeps its <|endoftext|> roles.
  const gpt2 = await AutoTokenizer.fromPretrained(folder("gpt2"));
  assert.deepEqual([gpt2.bosToken, gpt2.padTokenId, gpt2.maskTokenId], ["<|endoftext|>", undefined, undefined]);
});

test("XLM-RoBERTa SentencePiece Unigram: <s>=0 <pad>=1 </s>=2 <unk>=3, <mask> last, both templates", async () => {
  const t = await AutoTokenizer.fromPretrained(folder("tiny-xlm-roberta"));
  assert.deepEqual(await specialIds(folder("tiny-xlm-roberta")), [0, 1, 2, 3, 0, 2, t.length - 1]);
  assert.deepEqual(t.modelInputNames, ["input_ids", "attention_mask"]);
  assert.deepEqual(await t.tokenize("Hello world"), ["▁Hello", "▁world"]);
  // The likeliest segmentation: whole pieces over letters.
  assert.deepEqual(await t.tokenize("unbelievable jumping"), ["▁un", "believ", "able", "▁jump", "ing"]);
  const [hello, world, good, bye] = t.convertTokensToIds(["▁Hello", "▁world", "▁good", "▁bye"]) as number[];
  assert.deepEqual(await t.encode("Hello world"), [0, hello, world, 2]);
  const pair = await t.call("Hello world", { textPair: "good bye" });
  assert.deepEqual(pair.inputIds, [[0, hello, world, 2, 2, good, bye, 2]]);
  assert.equal(pair.tokenTypeIds, undefined);
  assert.deepEqual(await t.encode("x€"), [0, t.convertTokensToIds("▁") as number, t.convertTokensToIds("x") as number, 3, 2], "€ is not in the vocabulary: <unk>");
  assert.deepEqual((await t.call(["Hello world", "Hello"], { padding: true })).inputIds[1], [0, hello, 2, 1]);
  assert.equal(await t.decode([0, hello, world, 2], { skipSpecialTokens: true }), "Hello world");
  assert.deepEqual(await t.encode("the <mask> dog"), [0, t.convertTokensToIds("▁the") as number, t.length - 1, t.convertTokensToIds("▁dog") as number, 2]);
});

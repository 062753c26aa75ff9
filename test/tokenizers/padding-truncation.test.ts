import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { AutoTokenizer } from "../../src/tokenizers/index.js";
import { resolveStrategies, truncatedLengths } from "../../src/tokenizers/padding-truncation.js";

const tokenizersDir = fileURLToPath(new URL("../data/tokenizers/", import.meta.url));
const bert = await AutoTokenizer.fromPretrained(join(tokenizersDir, "bert-base-uncased"));

const short = "hello world"; // [CLS] hello world [SEP]
const long = "one two three four five six seven"; // 7 words, 9 ids with [CLS]/[SEP]

test("padding to the longest row, right and left", async () => {
  const right = await bert.call([short, long], { padding: true });
  assert.deepEqual(right.inputIds[0], [101, 7592, 2088, 102, 0, 0, 0, 0, 0]);
  assert.deepEqual(right.attentionMask[0], [1, 1, 1, 1, 0, 0, 0, 0, 0]);
  assert.deepEqual(right.tokenTypeIds![0], [0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(right.inputIds[1]!.length, 9);
  assert.deepEqual(right.attentionMask[1], new Array(9).fill(1));

  const left = await bert.call([short, long], { padding: "longest", paddingSide: "left" });
  assert.deepEqual(left.inputIds[0], [0, 0, 0, 0, 0, 101, 7592, 2088, 102]);
  assert.deepEqual(left.attentionMask[0], [0, 0, 0, 0, 0, 1, 1, 1, 1]);
});

test("padding to max_length, multiples, and the special tokens mask", async () => {
  const enc = await bert.call([short], { padding: "max_length", maxLength: 6, returnSpecialTokensMask: true });
  assert.deepEqual(enc.inputIds, [[101, 7592, 2088, 102, 0, 0]]);
  assert.deepEqual(enc.specialTokensMask, [[1, 0, 0, 1, 1, 1]]);
  const multiple = await bert.call([short], { padding: true, padToMultipleOf: 8 });
  assert.equal(multiple.inputIds[0]!.length, 8);
  const noPad = await bert.call([short, long]);
  assert.deepEqual(noPad.inputIds.map((r) => r.length), [4, 9], "no padding unless asked");
});

test("truncation keeps the special tokens", async () => {
  const enc = await bert.call([long], { truncation: true, maxLength: 5 });
  assert.deepEqual(enc.inputIds, [[101, ...bert.convertTokensToIds(["one", "two", "three"]), 102]]);
  const left = await bert.call([long], { truncation: true, maxLength: 5, truncationSide: "left" });
  assert.deepEqual(left.inputIds, [[101, ...bert.convertTokensToIds(["five", "six", "seven"]), 102]]);
  // maxLength alone means truncation, as in HF.
  assert.equal((await bert.encode(long, { maxLength: 5 })).length, 5);
});

test("truncation without maxLength uses modelMaxLength", async () => {
  const text = Array.from({ length: 600 }, () => "word").join(" ");
  assert.equal((await bert.encode(text)).length, 602, "no truncation unless asked");
  const ids = await bert.encode(text, { truncation: true });
  assert.equal(ids.length, 512);
  assert.equal(ids.at(-1), 102);
});

test("pair truncation strategies", async () => {
  const a = "one two three four five six"; // 6 tokens
  const b = "seven eight"; // 2 tokens
  const lengths = async (truncation: "longest_first" | "only_first" | "only_second", maxLength: number) => {
    const enc = await bert.call(a, { textPair: b, truncation, maxLength, returnTokenTypeIds: true });
    const types = enc.tokenTypeIds![0]!;
    return [types.filter((t) => t === 0).length - 2, types.filter((t) => t === 1).length - 1];
  };
  assert.deepEqual(await lengths("longest_first", 9), [4, 2]);
  assert.deepEqual(await lengths("longest_first", 7), [2, 2]);
  assert.deepEqual(await lengths("only_first", 9), [4, 2]);
  assert.deepEqual(await lengths("only_second", 10), [6, 1]);
  await assert.rejects(lengths("only_second", 8), /cannot truncate: 3 tokens must go but the second sequence has only 2/);
  await assert.rejects(bert.call([short], { truncation: true, maxLength: 1 }), /leaves no room for the 2 special tokens/);
});

test("textPair must match the batch", async () => {
  await assert.rejects(bert.call([short, long], { textPair: ["x"] }), /textPair has 1 entries for 2 texts/);
});

test("GPT-2 padding needs a pad token, then padTokenId follows eos", async () => {
  const gpt2 = await AutoTokenizer.fromPretrained(join(tokenizersDir, "gpt2"));
  await assert.rejects(gpt2.call(["a", "b c"], { padding: true }), (e: Error) => {
    assert.match(e.message, /has no padding token/);
    assert.match(e.message, /tokenizer\.padToken = tokenizer\.eosToken/);
    return true;
  });
  gpt2.padToken = gpt2.eosToken;
  assert.equal(gpt2.padTokenId, 50256);
  const enc = await gpt2.call(["Hello", "Hello world"], { padding: true });
  assert.deepEqual(enc.inputIds, [[15496, 50256], [15496, 995]]);
  assert.deepEqual(enc.attentionMask, [[1, 0], [1, 1]]);
  assert.throws(() => (gpt2.padToken = "<not-in-vocab>"), /addSpecialTokens\(\{ padToken: "<not-in-vocab>" \}\)/);
  assert.equal(gpt2.addSpecialTokens({ padToken: "<pad>" }), 1);
  assert.equal(gpt2.padTokenId, 50257);
  assert.equal(gpt2.length, 50258);
  assert.deepEqual(await gpt2.encode("<pad>Hello"), [50257, 15496]);
});

test("decode round trip", async () => {
  const text = "The quick brown fox, jumping over lazy dogs!";
  const ids = await bert.encode(text);
  assert.equal(await bert.decode(ids), "[CLS] the quick brown fox, jumping over lazy dogs! [SEP]");
  assert.equal(await bert.decode(ids, { skipSpecialTokens: true }), text.toLowerCase());
  const batch = await bert.call([text, "hello world"], { padding: true });
  assert.deepEqual(await bert.batchDecode(batch.inputIds, { skipSpecialTokens: true }), [text.toLowerCase(), "hello world"]);
  assert.deepEqual(bert.convertIdsToTokens([101, 7592, 102], { skipSpecialTokens: true }), ["hello"]);
  assert.equal(bert.convertIdsToTokens(7592), "hello");
  assert.throws(() => bert.convertIdsToTokens(99999), /token id 99999 is not in the vocabulary/);
  await assert.rejects(bert.decode([101, -100]), /cannot decode token id -100/);

  const gpt2 = await AutoTokenizer.fromPretrained(join(tokenizersDir, "gpt2"));
  const raw = "  Spaces, ünïcödé and emoji 🙂\nnew line";
  assert.equal(await gpt2.decode(await gpt2.encode(raw)), raw, "byte-level BPE is lossless");
});

test("resolveStrategies follows HF's defaults", () => {
  assert.deepEqual(resolveStrategies({}, 512), { padding: "none", truncation: "none", maxLength: undefined });
  assert.deepEqual(resolveStrategies({ maxLength: 8 }, 512), { padding: "none", truncation: "longest_first", maxLength: 8 });
  assert.deepEqual(resolveStrategies({ maxLength: 8, padding: true }, 512), { padding: "longest", truncation: "none", maxLength: 8 });
  assert.deepEqual(resolveStrategies({ truncation: true }, Infinity), { padding: "none", truncation: "none", maxLength: undefined });
  assert.deepEqual(resolveStrategies({ padding: "max_length" }, 128), { padding: "max_length", truncation: "none", maxLength: 128 });
  assert.throws(() => resolveStrategies({ padding: "max_length" }, Infinity), /needs maxLength/);
});

test("truncatedLengths matches the Rust tokenizers' longest_first", () => {
  // Cases from tokenizers/src/utils/truncation.rs (max_length 7).
  const cases: [number, number, number, number][] = [
    [0, 8, 0, 7], [2, 8, 2, 5], [4, 4, 3, 4], [4, 8, 3, 4], [8, 2, 5, 2], [8, 4, 4, 3], [8, 8, 3, 4], [4, 2, 4, 2],
  ];
  for (const [a, b, ka, kb] of cases) assert.deepEqual(truncatedLengths(a, b, 7, "longest_first"), [ka, kb], `${a},${b}`);
  assert.deepEqual(truncatedLengths(9, undefined, 7, "longest_first"), [7, undefined]);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { IGNORE_INDEX } from "../../src/data/collate.js";
import { readRecords } from "../../src/data/records.js";
import { AutoTokenizer } from "../../src/tokenizers/index.js";
import { tokenizeDataset, type TokenizerLike } from "../../src/train/tokenize-dataset.js";
import { DATA } from "../helpers/fixtures.js";
import { BERT_TOKENIZER, bertTokenizer, tempDir } from "./helpers/setup.js";

const GPT2 = join(DATA, "tokenizers/gpt2");

test("classification rows: special tokens, truncation, labels, and type ids for pairs", async () => {
  const tok = await bertTokenizer();
  const rows = [{ text: "Hello world", label: 1 }, { text: "a b c d e f g h i j k l m n o p", label: 0 }];
  const ex = await tokenizeDataset(tok, rows, { maxLength: 8 });
  assert.deepEqual(ex[0], { inputIds: [101, 7592, 2088, 102], label: 1 });
  assert.equal(ex[1].inputIds.length, 8);
  assert.equal(ex[1].inputIds[7], 102);
  const pairs = await tokenizeDataset(tok, [{ text: "hello", textPair: "world", label: 2 }], { maxLength: 16 });
  assert.deepEqual(pairs[0], { inputIds: [101, 7592, 102, 2088, 102], tokenTypeIds: [0, 0, 0, 1, 1], label: 2 });
  await assert.rejects(tokenizeDataset(tok, [{ text: "x", label: "pos" }], { maxLength: 8 }), /integer class id/);
});

test("prompt/completion rows: loss only on the completion, EOS appended; text rows learn every token", async () => {
  const tok = await AutoTokenizer.fromPretrained(GPT2);
  const eos = tok.eosTokenId!;
  assert.equal(eos, 50256);
  const rows = (await readRecords(join(DATA, "lm/gsm8k/validation.jsonl"))).slice(0, 5);
  const ex = await tokenizeDataset(tok, rows, { task: "causal-lm", maxLength: 1024 });
  assert.equal(ex.length, 5);
  for (const [i, e] of ex.entries()) {
    const prompt = await tok.encode(rows[i].prompt as string);
    const completion = await tok.encode(rows[i].completion as string, { addSpecialTokens: false });
    assert.deepEqual(e.inputIds, [...prompt, ...completion, eos]);
    assert.deepEqual(e.labels, [...prompt.map(() => IGNORE_INDEX), ...completion, eos]);
  }
  const text = await tokenizeDataset(tok, [{ text: "First Citizen:\nBefore we proceed" }], { task: "causal-lm", maxLength: 64 });
  assert.deepEqual(text[0].labels, text[0].inputIds);
  assert.equal(text[0].inputIds.at(-1), eos);

  // Cut to 4 tokens, the first row keeps no completion token and is dropped; the EOS of a cut row goes too.
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  process.on("warning", onWarning);
  const cut = await tokenizeDataset(tok, [{ prompt: "one two three four five", completion: " six" }, { prompt: "one", completion: " two three four five six" }], { task: "causal-lm", maxLength: 4 });
  await new Promise((r) => setImmediate(r));
  process.off("warning", onWarning);
  assert.equal(cut.length, 1);
  assert.equal(cut[0].inputIds.length, 4);
  assert.ok(!cut[0].inputIds.includes(eos));
  assert.match(warnings.join("\n"), /dropped 1 of 2 rows/);
});

test("the disk cache is keyed by tokenizer files, settings and rows", async () => {
  const tok = await bertTokenizer();
  const dir = await tempDir();
  const rows = [{ text: "good movie", label: 1 }, { text: "bad movie", label: 0 }];
  const cache = { dir, tokenizerDir: BERT_TOKENIZER };
  const first = await tokenizeDataset(tok, rows, { maxLength: 16, cache });
  assert.equal((await readdir(dir)).filter((f) => f.endsWith(".json")).length, 1);
  const refusing: TokenizerLike = {
    eosTokenId: tok.eosTokenId, length: tok.length, allSpecialTokens: tok.allSpecialTokens,
    call: () => { throw new Error("tokenizer called"); },
  };
  assert.deepEqual(await tokenizeDataset(refusing, rows, { maxLength: 16, cache }), first);
  await assert.rejects(tokenizeDataset(refusing, rows, { maxLength: 8, cache }), /tokenizer called/);
  await assert.rejects(tokenizeDataset(refusing, [...rows, { text: "ok", label: 1 }], { maxLength: 16, cache }), /tokenizer called/);
  await assert.rejects(tokenizeDataset(refusing, rows, { maxLength: 16, cache: { dir, tokenizerDir: GPT2 } }), /tokenizer called/);
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { AutoModelForCausalLM } from "../../src/models/index.js";
import { PromptTuningConfig, getPeftModel } from "../../src/peft/index.js";
import { Tensor, manualSeed } from "../../src/tensor/index.js";
import { fixtureDir } from "../helpers/fixtures.js";

const gpt2 = () => AutoModelForCausalLM.fromPretrained(fixtureDir("gpt2"));
const text = (fields = {}) => new PromptTuningConfig({
  taskType: "CAUSAL_LM", numVirtualTokens: 5, promptTuningInit: "TEXT", promptTuningInitText: "a b", tokenizerNameOrPath: "gpt2", ...fields,
});

function rows(t: Tensor): number[][] {
  const w = t.shape[1];
  return Array.from({ length: t.shape[0] }, (_, i) => Array.from(t.data.subarray(i * w, (i + 1) * w)));
}

test("TEXT init: the word embeddings of the init text's ids, cycled or cut to num_virtual_tokens", async () => {
  const base = await gpt2();
  const vocab = rows(base.getInputEmbeddings().weight);
  for (const ids of [[7, 9], [1, 2, 3, 4, 5, 6, 7]]) {
    const peft = getPeftModel(base, text(), { promptTuningInitTokenIds: ids });
    const table = rows(peft.adapterStateDict().get("prompt_embeddings")!);
    assert.deepEqual(table, [0, 1, 2, 3, 4].map((i) => vocab[ids[i % ids.length]]));
  }
});

test("TEXT init needs the token ids when training, not when loading for inference", async () => {
  await assert.rejects(async () => getPeftModel(await gpt2(), text()), /promptTuningInitTokenIds/);
  getPeftModel(await gpt2(), text({ inferenceMode: true }));
});

test("SAMPLE_VOCAB init: rows of the vocabulary, reproducible under manualSeed", async () => {
  const base = await gpt2();
  const vocab = rows(base.getInputEmbeddings().weight).map((r) => r.join());
  const table = () => {
    manualSeed(3);
    const config = new PromptTuningConfig({ taskType: "CAUSAL_LM", numVirtualTokens: 6, promptTuningInit: "SAMPLE_VOCAB" });
    return rows(getPeftModel(base, config).adapterStateDict().get("prompt_embeddings")!);
  };
  const first = table();
  assert.ok(first.every((r) => vocab.includes(r.join())));
  assert.deepEqual(table(), first);
});

test("PromptTuningConfig rejects what PEFT rejects, and sizes that do not fit the model", async () => {
  assert.throws(() => text({ tokenizerNameOrPath: null }), /TEXT needs tokenizer_name_or_path/);
  assert.throws(() => text({ promptTuningInitText: null }), /TEXT needs prompt_tuning_init_text/);
  assert.throws(() => new PromptTuningConfig({ tokenizerKwargs: { a: 1 } }), /tokenizer_kwargs is only valid/);
  assert.throws(() => new PromptTuningConfig({ promptTuningInit: "ZEROS" as never }), /config field "prompt_tuning_init" is "ZEROS", which is not supported \(supported: RANDOM, TEXT, SAMPLE_VOCAB\)/);
  assert.throws(() => new PromptTuningConfig({ numVirtualTokens: 0 }), /config field "num_virtual_tokens" must be at least 1, got 0/);
  await assert.rejects(async () => getPeftModel(await gpt2(), new PromptTuningConfig({ taskType: "CAUSAL_LM" })), /numVirtualTokens .* is required/);
  await assert.rejects(async () => getPeftModel(await gpt2(), new PromptTuningConfig({ numVirtualTokens: 2, tokenDim: 16 })),
    /token_dim 16 differs from the hidden size 32 of gpt2/);
});

// resizeTokenEmbeddings on every registered model type and head: old rows and old logits stay, a new row starts at
// the old rows' mean (so a linear LM head gives a new token the mean of the old logits), tying survives, the
// config says the new size, and the resized model saves and loads back as it was; and the workflow it serves,
// new special tokens for a chat template, end to end.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { GPT2LMHeadModel, gpt2Config } from "../../src/models/gpt2/index.js";
import { LlamaForCausalLM, llamaConfig } from "../../src/models/llama/index.js";
import { families, resizeTokenEmbeddings, type ModelClass, type ModelFamily, type PreTrainedModel } from "../../src/models/index.js";
import { AdamW } from "../../src/optim/index.js";
import { Tensor, manualSeed } from "../../src/tensor/index.js";
import { AutoTokenizer } from "../../src/tokenizers/index.js";
import { tempDir } from "../io/fixtures.js";

const VOCAB = 50;
const IDS = new Tensor(Int32Array.from([5, 7, 11, 3, 42, 9, 1, 30]), [2, 4]);
const MASK = new Tensor(Int32Array.from([1, 1, 1, 1, 1, 1, 1, 1]), [2, 4]);

function tiny(family: ModelFamily, modelType: string, cls: ModelClass, padTokenId = 0): PreTrainedModel {
  manualSeed(0);
  const model = new cls(family.freshConfig({
    modelType, vocabSize: VOCAB, hiddenSize: 16, numLayers: 2, numHeads: 4, intermediateSize: 32, maxPositions: 32,
    padTokenId, bosTokenId: 1, eosTokenId: 2, numLabels: 3,
  }));
  model.eval();
  return model;
}

const logits = (m: PreTrainedModel) => {
  const out = m.forward({ inputIds: IDS, attentionMask: MASK }).logits!;
  return { data: Float32Array.from(out.data), shape: [...out.shape] };
};

/** Every [..., width] row of `a` against the first `width` entries of `b`'s rows. */
function sameRows(a: Float32Array, aWidth: number, b: Float32Array, bWidth: number, what: string): void {
  for (let r = 0; r < a.length / aWidth; r++)
    for (let j = 0; j < Math.min(aWidth, bWidth); j++)
      assert.ok(Math.abs(a[r * aWidth + j]! - b[r * bWidth + j]!) <= 1e-5 * (1 + Math.abs(a[r * aWidth + j]!)), `${what}: row ${r}, column ${j}`);
}

const heads = (family: ModelFamily) => Object.entries(family.classes).filter(([k]) => k !== "base") as [string, ModelClass][];

test("resizeTokenEmbeddings grows every family's embeddings and LM heads: old logits kept, new ones the mean", async () => {
  for (const family of families()) for (const modelType of family.modelTypes) for (const [head, cls] of heads(family)) {
    const what = `${modelType} ${head}`;
    const model = tiny(family, modelType, cls);
    const before = logits(model);
    const out = model.getOutputEmbeddings();
    const tied = out !== null && out.weight === model.getInputEmbeddings().weight;
    const oldRows = Float32Array.from(model.getInputEmbeddings().weight.data as Float32Array);

    const embedding = model.resizeTokenEmbeddings(VOCAB + 5, { padToMultipleOf: 8 });
    assert.equal(embedding.numEmbeddings, 56, what);
    assert.deepEqual(embedding.weight.shape, [56, 16], what);
    assert.equal(model.config.vocabSize, 56, what);
    assert.ok(embedding.weight.requiresGrad, `${what}: the new embedding trains`);
    assert.ok([...model.parameters()].includes(embedding.weight), `${what}: the model's parameters hold the new embedding`);
    const rows = embedding.weight.data as Float32Array;
    sameRows(oldRows, 16, rows, 16, `${what}: old rows`);
    for (let j = 0; j < 16; j++) {
      let mean = 0;
      for (let r = 0; r < VOCAB; r++) mean += oldRows[r * 16 + j]! / VOCAB;
      for (let r = VOCAB; r < 56; r++) assert.ok(Math.abs(rows[r * 16 + j]! - mean) < 1e-6, `${what}: new row ${r} at the mean`);
    }

    const after = logits(model);
    if (out === null) {
      assert.deepEqual(after.shape, before.shape, what);
      sameRows(before.data, before.shape.at(-1)!, after.data, after.shape.at(-1)!, `${what}: logits`);
      continue;
    }
    assert.equal(model.getOutputEmbeddings()!.outFeatures, 56, what);
    assert.equal(model.getOutputEmbeddings()!.weight === embedding.weight, tied, `${what}: tying as before`);
    assert.deepEqual(after.shape, [...before.shape.slice(0, -1), 56], what);
    sameRows(before.data, VOCAB, after.data, 56, `${what}: old tokens' logits`);
    for (let r = 0; r < after.data.length / 56; r++) {
      const mean = before.data.subarray(r * VOCAB, (r + 1) * VOCAB).reduce((s, x) => s + x, 0) / VOCAB;
      for (let v = VOCAB; v < 56; v++) assert.ok(Math.abs(after.data[r * 56 + v]! - mean) < 1e-4, `${what}: a new token's logit is the old ones' mean`);
    }

    const { dir, cleanup } = await tempDir("resize-");
    await model.savePretrained(dir);
    const loaded = await (cls as unknown as { fromPretrained(d: string): Promise<PreTrainedModel> }).fromPretrained(dir);
    await cleanup();
    assert.equal(loaded.config.vocabSize, 56, `${what}: saved vocab_size`);
    sameRows(after.data, 56, logits(loaded).data, 56, `${what}: logits after a save and load`);
  }
});

test("an untied LM head grows on its own, at its own rows' mean", () => {
  manualSeed(0);
  const model = new LlamaForCausalLM(llamaConfig({ vocabSize: VOCAB, hiddenSize: 16, numHiddenLayers: 1, numAttentionHeads: 4, intermediateSize: 32, tieWordEmbeddings: false }));
  model.eval();
  const head = model.getOutputEmbeddings()!;
  assert.notEqual(head.weight, model.getInputEmbeddings().weight);
  const before = logits(model);
  const oldHead = Float32Array.from(head.weight.data as Float32Array);
  model.resizeTokenEmbeddings(VOCAB + 2);
  assert.notEqual(model.getOutputEmbeddings()!.weight, model.getInputEmbeddings().weight, "still untied");
  const rows = model.getOutputEmbeddings()!.weight.data as Float32Array;
  for (let j = 0; j < 16; j++) {
    const mean = Array.from({ length: VOCAB }, (_, r) => oldHead[r * 16 + j]!).reduce((s, x) => s + x, 0) / VOCAB;
    assert.ok(Math.abs(rows[VOCAB * 16 + j]! - mean) < 1e-6, `head row ${VOCAB}, column ${j}`);
  }
  sameRows(before.data, VOCAB, logits(model).data, VOCAB + 2, "old tokens' logits");
});

test("resizeTokenEmbeddings shrinks from the end, and refuses to drop the padding row or a bad size", () => {
  const family = families().find((f) => f.modelTypes.includes("distilbert"))!;
  const model = tiny(family, "distilbert", family.classes.maskedLm!);
  const before = logits(model);
  resizeTokenEmbeddings(model, 43);
  assert.equal(model.getOutputEmbeddings()!.bias!.shape[0], 43);
  sameRows(before.data, VOCAB, logits(model).data, 43, "kept logits");
  assert.equal(model.resizeTokenEmbeddings(43), model.getInputEmbeddings(), "the same size changes nothing");

  const padded = tiny(family, "distilbert", family.classes.seqCls!, 45);
  assert.throws(() => resizeTokenEmbeddings(padded, 43), /cannot resize the embeddings to 43 rows: the padding id 45 would be dropped/);
  assert.throws(() => resizeTokenEmbeddings(padded, 0), /positive integer, got 0/);
  assert.throws(() => resizeTokenEmbeddings(padded, 60, { padToMultipleOf: 0 }), /padToMultipleOf must be a positive integer/);
});

test("resizeTokenEmbeddings refuses bfloat16 embeddings with a message that says what to do", () => {
  const family = families().find((f) => f.modelTypes.includes("llama"))!;
  const model = tiny(family, "llama", family.classes.causalLm!);
  const embedding = model.getInputEmbeddings();
  embedding.setParameter("weight", embedding.weight.to("bfloat16"));
  assert.throws(() => resizeTokenEmbeddings(model, 64), /a bfloat16 weight cannot be resized; resize before converting the weights/);
});

test("a chat template's markers as new special tokens: added, embedded, trained, saved and loaded back (TRL's setup_chat_format)", async () => {
  const tokenizer = await AutoTokenizer.fromPretrained(join(import.meta.dirname, "..", "data", "tokenizers", "gpt2"));
  manualSeed(0);
  const model = new GPT2LMHeadModel(gpt2Config({ vocabSize: tokenizer.length, nEmbd: 16, nLayer: 1, nHead: 2, nPositions: 32 }));
  assert.equal(tokenizer.addSpecialTokens({ additionalSpecialTokens: ["<|im_start|>", "<|im_end|>"] }), 2);
  model.resizeTokenEmbeddings(tokenizer.length, { padToMultipleOf: 64 });
  assert.equal(model.config.vocabSize, 50304, "50,259 rounded up to a multiple of 64");

  const ids = await tokenizer.encode("<|im_start|>user\nhello<|im_end|>");
  const [start, end] = [tokenizer.backendTokenizer.tokenToId("<|im_start|>")!, tokenizer.backendTokenizer.tokenToId("<|im_end|>")!];
  assert.deepEqual([ids[0], ids.at(-1)], [start, end]);
  assert.ok(start >= 50257 && end >= 50257, "new ids past the old vocabulary");
  const row = (id: number) => Float32Array.from((model.getInputEmbeddings().weight.data as Float32Array).subarray(id * 16, (id + 1) * 16));
  const startRow = row(start);
  const inputIds = new Tensor(Int32Array.from(ids), [1, ids.length]);
  const { loss } = model.forward({ inputIds, labels: inputIds });
  assert.ok(Number.isFinite(loss!.item()));
  const optimizer = new AdamW(model.parameters(), { lr: 1e-2 });
  loss!.backward();
  optimizer.step();
  assert.notDeepEqual(row(start), startRow, "the new token's embedding trains");

  const { dir, cleanup } = await tempDir("resize-chat-");
  try {
    await model.savePretrained(dir);
    await tokenizer.savePretrained(dir);
    const [tokenizer2, model2] = [await AutoTokenizer.fromPretrained(dir), await GPT2LMHeadModel.fromPretrained(dir)];
    assert.deepEqual(await tokenizer2.encode("<|im_start|>user\nhello<|im_end|>"), ids);
    model.eval();
    model2.eval();
    assert.deepEqual(model2.forward({ inputIds }).logits!.data, model.forward({ inputIds }).logits!.data);
  } finally {
    await cleanup();
  }
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readRecords } from "../../src/data/records.js";
import type { ModelInput, ModelOutput } from "../../src/models/outputs.js";
import { Embedding, Linear, Module } from "../../src/nn/index.js";
import { Tensor, crossEntropy, manualSeed, reshape, slice } from "../../src/tensor/index.js";
import type { BatchEncoding } from "../../src/tokenizers/index.js";
import { DataLoader } from "../../src/data/index.js";
import { CausalLMModule, Trainer, tokenizeDataset, type LmPrediction, type TokenizerLike } from "../../src/train/index.js";
import { DATA } from "../helpers/fixtures.js";

/** Characters as tokens (ids 2..127), EOS = 1. */
const charTokenizer: TokenizerLike = {
  eosTokenId: 1,
  length: 128,
  allSpecialTokens: ["<eos>"],
  async call(texts: string | string[]): Promise<BatchEncoding> {
    const ids = (typeof texts === "string" ? [texts] : texts).map((t) => [...t].map((c) => Math.min(127, Math.max(2, c.charCodeAt(0)))));
    return { inputIds: ids, attentionMask: ids.map((r) => r.map(() => 1)) };
  },
};

/** A bigram model: the next token's logits depend on the current token only. Shifts labels like HF models. */
class Bigram extends Module {
  embed = this.addModule("embed", new Embedding(128, 16));
  head = this.addModule("lm_head", new Linear(16, 128));

  forward(input: ModelInput): ModelOutput {
    const ids = input.inputIds as Tensor;
    const [b, l] = ids.shape;
    const logits = this.head.forward(this.embed.forward(ids));
    if (!input.labels) return { logits };
    const shifted = reshape(slice(logits, 1, 0, l - 1), [b * (l - 1), 128]);
    const targets = reshape(slice(input.labels as Tensor, 1, 1), [b * (l - 1)]);
    return { logits, loss: crossEntropy(shifted, targets) };
  }
}

test("CausalLMModule: perplexity falls with training and is exp of the token-weighted loss", async () => {
  const records = await readRecords(join(DATA, "lm/tiny_shakespeare/train.jsonl"));
  const [train, val] = await Promise.all([
    tokenizeDataset(charTokenizer, records.slice(0, 96), { task: "causal-lm", maxLength: 48 }),
    tokenizeDataset(charTokenizer, records.slice(96, 128), { task: "causal-lm", maxLength: 48 }),
  ]);
  manualSeed(0);
  const module = new CausalLMModule(new Bigram(), { lr: 0.05, schedule: "constant" });
  const trainer = new Trainer({ maxEpochs: 3, enableProgressBar: false });
  const valLoader = new DataLoader(val, { batchSize: 8, padTokenId: 0 });
  const [before] = await trainer.validate(module, valLoader);
  await trainer.fit(module, new DataLoader(train, { batchSize: 8, padTokenId: 0, shuffle: true, seed: 0 }), valLoader);
  const [after] = await trainer.test(module, valLoader);
  assert.deepEqual(Object.keys(after).sort(), ["test_loss", "test_ppl"]);
  assert.ok(before.val_ppl > 100, `an untrained model is near uniform over 128 tokens: ${before.val_ppl}`);
  assert.ok(after.test_ppl < before.val_ppl / 4, `perplexity ${before.val_ppl} -> ${after.test_ppl}`);
  assert.ok(Math.abs(after.test_ppl - Math.exp(after.test_loss)) < 1e-9);

  const preds = await trainer.predict<unknown, LmPrediction>(module, valLoader);
  const nll = preds.reduce((s, p) => s + p.nll.reduce((a, b) => a + b, 0), 0);
  const tokens = preds.reduce((s, p) => s + p.tokens.reduce((a, b) => a + b, 0), 0);
  assert.equal(tokens, val.reduce((s, e) => s + e.labels!.length - 1, 0), "every label after the first is predicted");
  assert.ok(Math.abs(nll / tokens - after.test_loss) < 1e-5, `${nll / tokens} vs ${after.test_loss}`);
  assert.deepEqual(preds.flatMap((p) => p.indices), val.map((_, i) => i));
});

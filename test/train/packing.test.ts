// Packing: examples of different lengths packed into rows (positions restarting per example, attention kept within
// each example) give the loss and gradients of the same examples unpacked, on tiny random Llama (with grouped
// key/value heads), Qwen2 and GPT-2 models, on both backends.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setBackend } from "../../src/backend/index.js";
import { collate, IGNORE_INDEX, type Example } from "../../src/data/collate.js";
import { packExamples } from "../../src/data/packing.js";
import { GPT2LMHeadModel, LlamaForCausalLM, gpt2Config, llamaConfig } from "../../src/models/index.js";
import { manualSeed } from "../../src/tensor/index.js";
import { modelInput } from "../../src/train/module.js";
import { BACKENDS } from "../models/fixture-cases.js";

const VOCAB = 64;

/** Causal-LM examples of lengths 3..11 with some prompt tokens unlabelled, like tokenized prompt/completion rows. */
function examples(): Example[] {
  const lengths = [7, 3, 11, 5, 9, 4, 6, 8];
  let seed = 1;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % VOCAB;
  return lengths.map((n, k) => {
    const inputIds = Array.from({ length: n }, next);
    return { inputIds, labels: inputIds.map((id, t) => (t < k % 3 ? IGNORE_INDEX : id)) };
  });
}

const MODELS = {
  llama: () => new LlamaForCausalLM(llamaConfig({ vocabSize: VOCAB, hiddenSize: 32, intermediateSize: 48, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 2 })),
  qwen2: () => new LlamaForCausalLM(llamaConfig({ modelType: "qwen2", vocabSize: VOCAB, hiddenSize: 32, intermediateSize: 48, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 2 })),
  gpt2: () => new GPT2LMHeadModel(gpt2Config({ vocabSize: VOCAB, nEmbd: 32, nLayer: 2, nHead: 4, nPositions: 32 })),
};

test("packing places every example once, whole, into rows no longer than the block", () => {
  const ex = examples();
  const packed = packExamples(ex, 16);
  assert.equal(packed.length, 4, "53 tokens need at least 4 rows of 16; best-fit decreasing finds 4");
  for (const row of packed) {
    assert.ok(row.inputIds.length <= 16);
    assert.equal(row.positionIds!.length, row.inputIds.length);
    assert.equal(row.labels!.length, row.inputIds.length);
  }
  // Cut each row at its position restarts: the pieces are the examples, each first label dropped.
  const pieces = packed.flatMap((row) => {
    const out: { ids: number[]; labels: number[] }[] = [];
    row.positionIds!.forEach((p, t) => {
      if (p === 0) out.push({ ids: [], labels: [] });
      out.at(-1)!.ids.push(row.inputIds[t]!);
      out.at(-1)!.labels.push(row.labels![t]!);
    });
    return out;
  });
  const key = (ids: number[]) => ids.join(",");
  assert.deepEqual(pieces.map((p) => key(p.ids)).sort(), ex.map((e) => key(e.inputIds)).sort());
  for (const p of pieces) {
    const e = ex.find((x) => key(x.inputIds) === key(p.ids))!;
    assert.deepEqual(p.labels, [IGNORE_INDEX, ...e.labels!.slice(1)]);
  }
  assert.throws(() => packExamples(ex, 10), /has 11 tokens, more than the block size 10/);
});

for (const backend of BACKENDS) {
  for (const [name, make] of Object.entries(MODELS)) {
    test(`${name}: packed rows give the loss and gradients of the same examples unpacked (${backend})`, () => {
      setBackend(backend);
      manualSeed(0);
      const model = make();
      model.eval();
      const ex = examples();
      const grads = (batch: ReturnType<typeof collate>) => {
        model.zeroGrad();
        const loss = model.forward(modelInput(batch)).loss!;
        loss.backward();
        return { loss: loss.item(), grads: model.parameters().map((p) => Float64Array.from(p.grad!.data)) };
      };
      const unpacked = grads(collate(ex, ex.map((_, i) => i), { padTokenId: 0 }));
      const rows = packExamples(ex, 16);
      const packedBatch = collate(rows, rows.map((_, i) => i), { padTokenId: 0 });
      assert.ok(packedBatch.positionIds, "packed rows carry position ids");
      const packed = grads(packedBatch);

      assert.ok(Math.abs(packed.loss - unpacked.loss) <= 1e-5 * Math.abs(unpacked.loss), `loss ${packed.loss} vs ${unpacked.loss}`);
      packed.grads.forEach((g, i) => {
        const ref = unpacked.grads[i]!;
        let diff = 0, norm = 0;
        for (let j = 0; j < g.length; j++) { diff += (g[j]! - ref[j]!) ** 2; norm += ref[j]! ** 2; }
        assert.ok(Math.sqrt(diff) <= 1e-4 * Math.sqrt(norm) + 1e-7, `gradient ${i}: |diff| ${Math.sqrt(diff)} vs |ref| ${Math.sqrt(norm)}`);
      });
    });
  }
}

test("without restarting positions (or with a mask or a cache) attention is the usual causal one", () => {
  setBackend("typescript");
  manualSeed(0);
  const model = MODELS.llama();
  const ids = [[1, 2, 3, 4, 5, 6]];
  const plain = model.forward({ inputIds: ids }).logits;
  assert.deepEqual(Array.from(model.forward({ inputIds: ids, positionIds: [[0, 1, 2, 3, 4, 5]] }).logits.data), Array.from(plain.data));
  // Two sequences [1,2,3] and [4,5,6] packed: the second gives what it gives alone.
  const packed = model.forward({ inputIds: ids, positionIds: [[0, 1, 2, 0, 1, 2]] }).logits;
  const alone = model.forward({ inputIds: [[4, 5, 6]] }).logits;
  const tail = Array.from(packed.data.subarray(3 * VOCAB));
  Array.from(alone.data).forEach((v, i) => assert.ok(Math.abs(v - tail[i]!) < 1e-5));
  // With an attention mask the positions only move RoPE, as in transformers: the second half still sees the first.
  const masked = model.forward({ inputIds: ids, positionIds: [[0, 1, 2, 0, 1, 2]], attentionMask: [[1, 1, 1, 1, 1, 1]] }).logits;
  assert.ok(Array.from(masked.data.subarray(3 * VOCAB)).some((v, i) => Math.abs(v - tail[i]!) > 1e-4));
});

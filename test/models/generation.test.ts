import assert from "node:assert/strict";
import { test } from "node:test";
import { setBackend } from "../../src/backend/index.js";
import { generationSteps, positionsFromMask, type CausalLM } from "../../src/models/generation.js";
import { growableCache } from "../../src/models/kv-cache.js";
import { minPFilter, repetitionPenalty, topKFilter, topPFilter } from "../../src/models/sampling.js";
import { Gemma3ForCausalLM } from "../../src/models/gemma3/index.js";
import { GPT2LMHeadModel } from "../../src/models/gpt2/index.js";
import { LlamaForCausalLM } from "../../src/models/llama/index.js";
import type { PreTrainedModel } from "../../src/models/pretrained.js";
import { Tensor, argmax, noGrad, slice, tensor } from "../../src/tensor/index.js";
import { assertCloseRel, fixtureDir } from "../helpers/fixtures.js";
import { BACKENDS } from "./decoder-cases.js";

type LM = PreTrainedModel & CausalLM & { generate: GPT2LMHeadModel["generate"] };
const quiet = { onWarning: () => {} };
const MODELS = {
  gpt2: { load: () => GPT2LMHeadModel.fromPretrained(fixtureDir("gpt2"), quiet), pad: 511, prompts: [[419, 446, 126, 199, 437], [327, 323, 495], [81]] },
  llama: { load: () => LlamaForCausalLM.fromPretrained(fixtureDir("llama"), quiet), pad: 0, prompts: [[1, 338, 439, 167, 342], [1, 402, 62], [1]] },
  // Qwen3: q/k norms; no pad token, so the prompts are padded with eos. Phi-3: fused projections, partial RoPE and a
  // 6-token sliding window that the 6 new tokens run past.
  qwen3: { load: () => LlamaForCausalLM.fromPretrained(fixtureDir("qwen3"), quiet), pad: 2, prompts: [[24, 155, 200, 161, 250], [4, 246, 177], [193]] },
  phi3: { load: () => LlamaForCausalLM.fromPretrained(fixtureDir("phi3"), quiet), pad: 2, prompts: [[1, 240, 98, 205, 206], [1, 249, 115], [1]] },
  // Sliding windows of 6 keys: prompt and generated tokens together run past them.
  gemma3: { load: () => Gemma3ForCausalLM.fromPretrained(fixtureDir("gemma3"), quiet), pad: 0, prompts: [[2, 38, 239, 67, 142, 77, 15], [2, 102, 62], [2]] },
  gemma2: { load: () => Gemma3ForCausalLM.fromPretrained(fixtureDir("gemma2"), quiet), pad: 0, prompts: [[2, 38, 239, 67, 142, 77, 15], [2, 102, 62], [2]] },
};

function leftPad(prompts: number[][], pad: number): { ids: number[][]; mask: number[][] } {
  const width = Math.max(...prompts.map((p) => p.length));
  return {
    ids: prompts.map((p) => [...new Array<number>(width - p.length).fill(pad), ...p]),
    mask: prompts.map((p) => [...new Array<number>(width - p.length).fill(0), ...p.map(() => 1)]),
  };
}

/** Greedy decoding by recomputing the whole sequence at every step (no cache). */
function greedyUncached(m: LM, ids: number[][], mask: number[][], steps: number): number[][] {
  const seqs = ids.map((r) => [...r]), masks = mask.map((r) => [...r]);
  for (let s = 0; s < steps; s++) {
    const maskT = tensor(masks);
    const logits = noGrad(() => m.forward({ inputIds: seqs, attentionMask: maskT, positionIds: positionsFromMask(maskT, seqs[0].length) }).logits);
    const [batch, len, vocab] = logits.shape;
    const last = new Tensor(Float32Array.from({ length: batch * vocab }, (_, i) => logits.data[(Math.floor(i / vocab) * len + len - 1) * vocab + (i % vocab)]), [batch, vocab]);
    const next = argmax(last, 1).data;
    seqs.forEach((r, b) => r.push(next[b]));
    masks.forEach((r) => r.push(1));
  }
  return seqs;
}

for (const backend of BACKENDS) {
  for (const [name, spec] of Object.entries(MODELS)) {
    test(`${name} cached greedy generation equals uncached recomputation, left-padded batch (${backend})`, async () => {
      setBackend(backend);
      const m = await spec.load() as unknown as LM;
      const { ids, mask } = leftPad(spec.prompts, spec.pad);
      const steps = 6;
      const got = m.generate(ids, { maxNewTokens: steps, attentionMask: mask, eosTokenId: null });
      assert.deepEqual(got.shape, [3, ids[0].length + steps]);
      assert.deepEqual(got.toArray(), greedyUncached(m, ids, mask, steps));
      // Left padding does not change what a sequence generates.
      spec.prompts.forEach((p, b) => {
        const alone = m.generate([p], { maxNewTokens: steps, eosTokenId: null }).toArray() as number[][];
        assert.deepEqual((got.toArray() as number[][])[b].slice(-steps), alone[0].slice(-steps), `row ${b}`);
      });
    });
  }
}

test("generation: eos stops a sequence, later tokens are padding", async () => {
  const m = await MODELS.llama.load();
  const prompt = [[1, 338, 439]];
  const free = m.generate(prompt, { maxNewTokens: 5, eosTokenId: null }).toArray() as number[][];
  const eos = free[0][4];
  const stopped = m.generate([...prompt, [1, 183, 431]], { maxNewTokens: 5, eosTokenId: eos, padTokenId: 0 }).toArray() as number[][];
  assert.deepEqual(stopped[0], [...free[0].slice(0, 5), 0, 0, 0]);
  const alone = m.generate(prompt, { maxNewTokens: 5, eosTokenId: eos }).toArray() as number[][];
  assert.deepEqual(alone[0], free[0].slice(0, 5), "generation ends once every sequence has finished");
});

test("generation: seeded sampling is reproducible; topK 1 is greedy", async () => {
  const m = await MODELS.gpt2.load();
  const prompt = [[419, 446, 126]];
  const opts = { maxNewTokens: 8, doSample: true, temperature: 1.5, topK: 0, eosTokenId: null, seed: 7 };
  assert.deepEqual(m.generate(prompt, opts).toArray(), m.generate(prompt, opts).toArray());
  assert.notDeepEqual(m.generate(prompt, opts).toArray(), m.generate(prompt, { ...opts, seed: 8 }).toArray());
  assert.deepEqual(m.generate(prompt, { ...opts, topK: 1 }).toArray(), m.generate(prompt, { maxNewTokens: 8, eosTokenId: null }).toArray());
  assert.throws(() => m.generate(prompt, { doSample: true, temperature: 0 }), /temperature/);
});

test("generation steps stream what generate returns; a consumer can stop early; seeded min-p sampling repeats", async () => {
  const m = await MODELS.llama.load() as unknown as LM;
  const prompt = [[1, 338, 439]];
  const whole = (m.generate(prompt, { maxNewTokens: 6, eosTokenId: null }).toArray() as number[][])[0].slice(3);
  const streamed: number[] = [];
  for (const next of generationSteps(m, prompt, { maxNewTokens: 6, eosTokenId: null })) {
    streamed.push(next[0]);
    if (streamed.length === 4) break;
  }
  assert.deepEqual(streamed, whole.slice(0, 4));
  const sampled = { maxNewTokens: 6, eosTokenId: null, doSample: true, minP: 0.05, topK: 0, seed: 3 };
  assert.deepEqual(m.generate(prompt, sampled).toArray(), m.generate(prompt, sampled).toArray());
  // A huge penalty makes greedy search avoid every token already in the sequence.
  const fresh = (m.generate(prompt, { maxNewTokens: 6, eosTokenId: null, repetitionPenalty: 1e9 }).toArray() as number[][])[0];
  assert.equal(new Set(fresh).size, fresh.length);
  assert.throws(() => m.generate(prompt, { repetitionPenalty: 0 }), /repetitionPenalty must be positive/);
});

test("logitsToKeep returns the last positions' logits as the full forward computes them", async () => {
  for (const name of ["gpt2", "llama", "gemma2"] as const) {
    const m = await MODELS[name].load() as unknown as LM;
    const ids = [MODELS[name].prompts[0], MODELS[name].prompts[0].slice().reverse()];
    const full = noGrad(() => m.forward({ inputIds: ids }).logits);
    const [batch, len, vocab] = full.shape;
    for (const keep of [1, 2, len, len + 3]) {
      const kept = noGrad(() => m.forward({ inputIds: ids, logitsToKeep: keep }).logits);
      const rows = Math.min(keep, len);
      assert.deepEqual(kept.shape, [batch, rows, vocab], `${name} keep ${keep}`);
      // The same rows, up to float rounding: fewer rows may take the GEMM's few-row form.
      const expected = slice(full, 1, len - rows);
      assertCloseRel(`${name} keep ${keep}`, kept, expected, 1e-6);
    }
    assert.throws(() => m.forward({ inputIds: ids, logitsToKeep: 1, labels: ids }), /logitsToKeep cannot be combined with labels/);
    assert.throws(() => m.forward({ inputIds: ids, logitsToKeep: -1 }), /logitsToKeep must be a non-negative integer/);
  }
});

test("topK keeps the k largest scores and ties", () => {
  const s = topKFilter(Float32Array.from([1, 5, 3, 5, 2]), 2);
  assert.deepEqual(Array.from(s), [-Infinity, 5, -Infinity, 5, -Infinity]);
  assert.deepEqual(Array.from(topKFilter(Float32Array.from([1, 2]), 5)), [1, 2]);
  assert.deepEqual(Array.from(topKFilter(Float32Array.from([1, 4, 3, 2]), 3)), [-Infinity, 4, 3, 2]);
});

test("topP keeps the smallest most-likely set reaching p, at least one token", () => {
  const logits = Float32Array.from([0.5, 0.3, 0.15, 0.05].map(Math.log));
  assert.deepEqual(Array.from(topPFilter(logits.slice(), 0.75)).map(Number.isFinite), [true, true, false, false]);
  assert.deepEqual(Array.from(topPFilter(logits.slice(), 0.85)).map(Number.isFinite), [true, true, true, false]);
  assert.deepEqual(Array.from(topPFilter(logits.slice(), 0.1)).map(Number.isFinite), [true, false, false, false]);
  assert.deepEqual(Array.from(topPFilter(logits.slice(), 1)).map(Number.isFinite), [true, true, true, true]);
});

test("minP keeps the tokens at least p times as likely as the most likely one", () => {
  const logits = Float32Array.from([0.5, 0.3, 0.15, 0.05].map(Math.log));
  assert.deepEqual(Array.from(minPFilter(logits.slice(), 0.5)).map(Number.isFinite), [true, true, false, false]);
  assert.deepEqual(Array.from(minPFilter(logits.slice(), 0.1)).map(Number.isFinite), [true, true, true, false]);
  assert.deepEqual(Array.from(minPFilter(logits.slice(), 1)).map(Number.isFinite), [true, false, false, false]);
});

test("the repetition penalty divides positive and multiplies negative scores of tokens seen, once each", () => {
  assert.deepEqual(Array.from(repetitionPenalty(Float32Array.from([2, -2, 3, 1]), [0, 1, 1, 7], 2)), [1, -4, 3, 1]);
});

test("positions follow the attention mask: cumsum - 1, 1 at padding, last columns", () => {
  const mask = tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]]);
  assert.deepEqual(positionsFromMask(mask, 5).toArray(), [[1, 1, 0, 1, 2], [0, 1, 2, 3, 4]]);
  assert.deepEqual(positionsFromMask(mask, 1).toArray(), [[2], [4]]);
});

test("a growable key/value cache appends in place, grows past its capacity and leaves a plain past untouched", async () => {
  for (const backend of BACKENDS) for (const name of ["gpt2", "llama", "gemma2"] as const) {
    setBackend(backend);
    const m = await MODELS[name].load() as unknown as LM;
    const prompt = [MODELS[name].prompts[0]], next = [[MODELS[name].prompts[1][1], MODELS[name].prompts[1][2]]];
    const first = noGrad(() => m.forward({ inputIds: prompt, useCache: true }));
    const plain = first.pastKeyValues!;
    const before = plain.map((p) => Float32Array.from(p.key.f));
    const expected = noGrad(() => m.forward({ inputIds: next, pastKeyValues: plain, useCache: true }));
    plain.forEach((p, i) => assert.deepEqual(Float32Array.from(p.key.f), before[i], `${name}: the plain past is unchanged`));
    assert.equal(expected.pastKeyValues![0].length, undefined);
    // Room for one of the two new tokens: the forward grows the cache; then room to spare.
    for (const spare of [1, 5]) {
      const cache = growableCache(plain, spare);
      const got = noGrad(() => m.forward({ inputIds: next, pastKeyValues: cache, useCache: true }));
      assertCloseRel(`${name} (${backend}) spare ${spare}`, got.logits, expected.logits, 1e-6);
      const present = got.pastKeyValues![0];
      assert.equal(present.length, prompt[0].length + 2);
      assert.equal(present.key === cache[0].key, spare >= 2, "appends in place when there is room");
      assert.deepEqual(slice(present.key, 2, 0, present.length).toArray(), expected.pastKeyValues![0].key.toArray());
    }
    assert.throws(() => m.forward({ inputIds: next, pastKeyValues: growableCache(plain, 9), useCache: true }), /autograd/);
  }
  setBackend("native");
});

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { loadSafetensors } from "../../src/io/safetensors.js";
import { GPT2ForSequenceClassification, GPT2LMHeadModel, GPT2Model, gpt2Config, parseGPT2Config } from "../../src/models/gpt2/index.js";
import { AutoModelForCausalLM } from "../../src/models/index.js";
import { noGrad, tensor } from "../../src/tensor/index.js";
import { assertCloseRel, fixtureDir, loadInputs, loadTensors } from "../helpers/fixtures.js";
import { tempDir } from "../io/fixtures.js";
import { decoderFixtureTests } from "./decoder-cases.js";

decoderFixtureTests({ model: "gpt2", load: (dir) => GPT2LMHeadModel.fromPretrained(dir, { onWarning: () => {} }), lastLayers: ["transformer.h.1", "transformer.ln_f"] });

let dir = "";
let cleanup = async () => {};
before(async () => { ({ dir, cleanup } = await tempDir("gpt2")); });
after(() => cleanup());

const quiet = { onWarning: () => {} };
const inputs = loadInputs("gpt2");

test("gpt2 lm_head is wte: one tensor, listed once, not saved, reloaded tied", async () => {
  const m = await GPT2LMHeadModel.fromPretrained(fixtureDir("gpt2"), quiet);
  assert.equal(m.lmHead.weight, m.transformer.wte.weight);
  const names = [...m.namedParameters()].map(([n]) => n);
  assert.ok(names.includes("transformer.wte.weight") && !names.includes("lm_head.weight"));
  assert.ok(names.includes("transformer.h.0.attn.c_attn.weight") && names.includes("transformer.h.0.mlp.c_fc.weight") && names.includes("transformer.ln_f.weight"));
  assert.deepEqual(m.transformer.h.at(0).attn.cAttn.weight.shape, [32, 96], "Conv1D weights are [in, out]");
  const out = join(dir, "saved");
  await m.savePretrained(out);
  const { tensors } = await loadSafetensors(join(out, "model.safetensors"));
  assert.ok(!tensors.has("lm_head.weight") && tensors.has("transformer.wte.weight"));
  const config = JSON.parse(await readFile(join(out, "config.json"), "utf8"));
  assert.equal(config.n_inner, null);
  assert.deepEqual(config.architectures, ["GPT2LMHeadModel"]);
  const again = await AutoModelForCausalLM.fromPretrained(out, quiet) as GPT2LMHeadModel;
  assert.equal(again.lmHead.weight, again.transformer.wte.weight);
  assertCloseRel("logits", again.forward(inputs).logits, loadTensors("gpt2", "expected.safetensors").get("logits")!);
});

test("gpt2 base model loads the LM checkpoint without the prefix", async () => {
  const m = await GPT2Model.fromPretrained(fixtureDir("gpt2"), quiet);
  const out = m.forward({ inputIds: inputs.inputIds, attentionMask: inputs.attentionMask });
  assertCloseRel("last_hidden_state", out.lastHiddenState!, loadTensors("gpt2", "expected.safetensors").get("last_hidden_state")!);
  assert.ok([...m.namedParameters()].every(([n]) => !n.startsWith("transformer.")));
});

test("gpt2 sequence classification pools the last non-pad token", async () => {
  const m = await GPT2ForSequenceClassification.fromPretrained(fixtureDir("gpt2"), { ...quiet, numLabels: 3 });
  assert.throws(() => m.forward({ inputIds: inputs.inputIds }), /padding token/);
  const cfg = parseGPT2Config({ ...m.config.raw, pad_token_id: 511, id2label: { 0: "a", 1: "b", 2: "c" } }, "config.json");
  const withPad = new GPT2ForSequenceClassification(cfg);
  withPad.loadStateDict(m.stateDict());
  withPad.eval();
  const out = withPad.forward({ inputIds: inputs.inputIds, attentionMask: inputs.attentionMask, labels: [0, 2, 1] });
  assert.deepEqual(out.logits.shape, [3, 3]);
  assert.ok(Number.isFinite(out.loss!.item()));
  // Each row equals the score of that sequence alone, unpadded.
  noGrad(() => inputs.inputIds.forEach((row, b) => {
    const len = inputs.attentionMask[b].reduce((s, v) => s + v, 0);
    const single = withPad.forward({ inputIds: [row.slice(0, len)] }).logits;
    assertCloseRel(`row ${b}`, tensor([Array.from(out.logits.data.subarray(b * 3, b * 3 + 3))]), single);
  }));
  assert.deepEqual(withPad.classifierModules(), ["score"]);
  assert.equal(withPad.score.bias, null);
});

test("gpt2 config: defaults, derived sizes and errors name the field and file", () => {
  const c = gpt2Config({ nEmbd: 16, nHead: 4, nLayer: 1, vocabSize: 10, nPositions: 8 });
  assert.equal(c.innerSize, 64);
  assert.equal(c.headDim, 4);
  assert.equal(c.tieWordEmbeddings, true);
  assert.equal(c.activationFunction, "gelu_new");
  assert.throws(() => parseGPT2Config({ model_type: "gpt2", n_embd: 30, n_head: 4 }, "/x/config.json"), /\/x\/config\.json.*n_embd.*divisible/s);
  assert.throws(() => parseGPT2Config({ model_type: "gpt2", n_layer: -1 }, "/x/config.json"), /n_layer/);
  assert.throws(() => parseGPT2Config({ model_type: "gpt2", activation_function: "gelu_fast_unknown" }, "c.json"), /activation_function/);
  assert.throws(() => parseGPT2Config({ model_type: "llama" }, "c.json"), /model_type/);
});

test("gpt2 refuses positions beyond n_positions", () => {
  const m = new GPT2LMHeadModel(gpt2Config({ nEmbd: 8, nHead: 2, nLayer: 1, vocabSize: 10, nPositions: 4 }));
  assert.throws(() => m.forward({ inputIds: [[1, 2, 3, 4, 5]] }), /n_positions/);
});

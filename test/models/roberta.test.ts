// RoBERTa and XLM-RoBERTa: the fixture (RobertaForSequenceClassification from the project's PyTorch reference) on
// both backends (its PEFT method folders: test/peft/lora.test.ts, prompt-common.test.ts); fairseq's position
// numbering; the config; XLM-R through the same numbers; the masked-LM head, and pretraining it further.
import assert from "node:assert/strict";
import { cpSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { loadSafetensors } from "../../src/io/safetensors.js";
import { AutoModel, AutoModelForCausalLM, AutoModelForMaskedLM, AutoModelForSequenceClassification } from "../../src/models/index.js";
import {
  RobertaForMaskedLM, RobertaForSequenceClassification, RobertaModel, parseRobertaConfig, robertaConfig, robertaFamily, robertaPositionIds,
  type RobertaConfig,
} from "../../src/models/roberta/index.js";
import { prepareEncoderInputs } from "../../src/models/encoder.js";
import { LoraConfig, getPeftModel } from "../../src/peft/index.js";
import { pretrain } from "../../src/pretrain/index.js";
import { add, crossEntropy, gelu, layerNorm, linear, manualSeed, reshape, slice, sum, tensor } from "../../src/tensor/index.js";
import { AutoTokenizer } from "../../src/tokenizers/index.js";
import { DATA, assertCloseRel, fixtureDir, loadInputs, loadTensors } from "../helpers/fixtures.js";
import { tempDir } from "../io/fixtures.js";
import { encoderFixtureTests } from "./encoder-cases.js";

encoderFixtureTests("roberta", RobertaForSequenceClassification);

let dir = "";
let cleanup = async () => {};
before(async () => { ({ dir, cleanup } = await tempDir("roberta")); });
after(() => cleanup());

const quiet = { onWarning: () => {} };
const tiny = (extra: Parameters<typeof robertaConfig>[0] = {}) => robertaConfig({
  vocabSize: 40, hiddenSize: 16, numHiddenLayers: 2, numAttentionHeads: 4, intermediateSize: 32, maxPositionEmbeddings: 34,
  typeVocabSize: 1, layerNormEps: 1e-5, ...extra,
});
const positions = (inputIds: number[][] | null, pastLength = 0, batch = 2, seq = 5) =>
  [...robertaPositionIds({ inputIds: inputIds && tensor(inputIds, { dtype: "int32" }), pastLength, batch, seq } as never, 1).data];

test("positions: fairseq's numbering from padding_idx + 1 over the non-pad ids, after the past; sequential for embeddings", () => {
  // pad = 1. Left padding, right padding and a pad in the middle each keep the real tokens' count.
  const ids = [[0, 5, 6, 1, 1], [1, 1, 0, 7, 2]];
  assert.deepEqual(positions(ids), [2, 3, 4, 1, 1, 1, 1, 2, 3, 4]);
  assert.deepEqual(positions([[0, 5, 1, 6, 2]], 0, 1), [2, 3, 1, 4, 5]);
  assert.deepEqual(positions(ids, 3), [5, 6, 7, 1, 1, 1, 1, 5, 6, 7], "a prefix of 3 shifts the real tokens, not the pads");
  // transformers' create_position_ids_from_inputs_embeds: it cannot see pads and does not add the past.
  assert.deepEqual(positions(null, 3), [2, 3, 4, 5, 6, 2, 3, 4, 5, 6]);
});

test("left padding changes nothing for the real tokens; the position table's padding row gets no gradient", () => {
  manualSeed(1);
  const m = new RobertaModel(tiny()).eval();
  const alone = m.forward({ inputIds: [[0, 7, 8, 9, 2]] }).lastHiddenState!;
  const padded = m.forward({ inputIds: [[1, 1, 0, 7, 8, 9, 2]], attentionMask: [[0, 0, 1, 1, 1, 1, 1]] }).lastHiddenState!;
  assertCloseRel("real tokens after left padding", slice(padded, 1, 2, 7), alone, 1e-6);
  // A pad the mask lets through still sits at padding_idx, whose row does not train (nor the word table's).
  const h = m.forward({ inputIds: [[0, 7, 1, 9, 2]] }).lastHiddenState!;
  sum(h).backward();
  const row = (g: ArrayLike<number>, r: number) => Array.from(g).slice(r * 16, (r + 1) * 16);
  assert.ok(row(m.embeddings.positionEmbeddings.weight.grad!.data, 1).every((v) => v === 0), "position row padding_idx");
  assert.ok(row(m.embeddings.positionEmbeddings.weight.grad!.data, 4).some((v) => v !== 0), "position row 4 (the 3rd real token)");
  assert.ok(row(m.embeddings.wordEmbeddings.weight.grad!.data, 1).every((v) => v === 0), "word row pad");
  assert.ok(m.embeddings.positionEmbeddings.weight.data.subarray(16, 32).every((v) => v === 0), "HF's init zeroes the padding row");
});

test("config: fairseq's token ids by default, clear refusals, positions counted after padding_idx", () => {
  const sizes = { vocab_size: 50, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 32 };
  const c = parseRobertaConfig({ model_type: "roberta", ...sizes }, "config.json");
  assert.deepEqual([c.padTokenId, c.bosTokenId, c.eosTokenId, c.maxPositionEmbeddings, c.typeVocabSize], [1, 0, 2, 512, 2]);
  assert.equal(parseRobertaConfig({ model_type: "xlm-roberta", ...sizes }, "x").modelType, "xlm-roberta");
  const roberta = (raw: Record<string, unknown>) => () => parseRobertaConfig({ model_type: "roberta", ...sizes, ...raw }, "config.json");
  assert.throws(roberta({ pad_token_id: null }), /config\.json: config field "pad_token_id" must not be null/);
  assert.throws(roberta({ is_decoder: true }), /"is_decoder" is true: RoBERTa as a decoder is not supported \(encoder only\)/);
  assert.throws(roberta({ max_position_embeddings: 2 }), /"max_position_embeddings" \(2\) leaves no position for a token: positions start at pad_token_id \+ 1 = 2/);
  assert.throws(() => parseRobertaConfig({ model_type: "bert", ...sizes }, "config.json"), /"model_type" is "bert"; the RoBERTa family covers roberta, xlm-roberta/);
  // roberta-base: 514 rows, 512 tokens.
  assert.equal(RobertaModel.modelShape(parseRobertaConfig({ model_type: "roberta", ...sizes, max_position_embeddings: 514 }, "x")).maxPositions, 512);
  const m = new RobertaModel(tiny({ maxPositionEmbeddings: 8 }));
  assert.equal(m.forward({ inputIds: [[0, 3, 4, 5, 6, 2]] }).logits.shape[1], 6);
  assert.throws(() => m.forward({ inputIds: [[0, 3, 4, 5, 6, 7, 2]] }), /sequence of 7 tokens after 0 past positions exceeds max_position_embeddings \(8\) with positions starting at 2/);
  assert.equal(prepareEncoderInputs({ inputIds: [[1, 2]] }, 2, 2).positionIds.shape[0], 2, "BERT's check is unchanged");
  // A fresh model (pretrain --arch) holds maxPositions tokens whatever its pad id.
  for (const padTokenId of [0, 1, null]) {
    const fresh = robertaFamily.freshConfig({ modelType: "xlm-roberta", vocabSize: 50, hiddenSize: 16, numLayers: 1, numHeads: 2,
      intermediateSize: 32, maxPositions: 32, padTokenId, bosTokenId: null, eosTokenId: null });
    assert.equal(RobertaModel.modelShape(fresh as RobertaConfig).maxPositions, 32, `pad ${padTokenId}`);
  }
});

test("XLM-RoBERTa: the RoBERTa fixture as model_type xlm-roberta gives the same numbers, PEFT names, and saves its type", async () => {
  const xlmr = join(dir, "xlmr");
  cpSync(fixtureDir("roberta"), xlmr, { recursive: true, filter: (src) => !statSync(src).isDirectory() || src === fixtureDir("roberta") });
  const config = JSON.parse(readFileSync(join(xlmr, "config.json"), "utf8"));
  writeFileSync(join(xlmr, "config.json"), JSON.stringify({ ...config, model_type: "xlm-roberta", architectures: ["XLMRobertaForSequenceClassification"] }));
  const m = await AutoModelForSequenceClassification.fromPretrained(xlmr);
  assert.ok(m instanceof RobertaForSequenceClassification);
  const ref = loadTensors("roberta", "expected.safetensors");
  const out = m.forward(loadInputs("roberta"));
  assertCloseRel("logits", out.logits, ref.get("logits")!);
  assertCloseRel("loss", out.loss!, ref.get("loss")!);
  assert.equal(m.peftFacts().modelType, "xlm-roberta");
  const peft = getPeftModel(m, new LoraConfig({ taskType: "SEQ_CLS" }));
  const lora = [...peft.namedParameters()].filter(([n]) => n.includes("lora_A")).map(([n]) => n);
  assert.deepEqual(lora, [0, 1].flatMap((i) => ["query", "value"].map((t) => `base_model.model.roberta.encoder.layer.${i}.attention.self.${t}.lora_A.default.weight`)));
  await m.savePretrained(join(dir, "xlmr-saved"));
  const saved = JSON.parse(await readFile(join(dir, "xlmr-saved", "config.json"), "utf8"));
  assert.deepEqual([saved.model_type, saved.pad_token_id, saved.bos_token_id, saved.eos_token_id, saved.layer_norm_eps], ["xlm-roberta", 1, 0, 2, 1e-3]);
  assert.ok((await AutoModel.fromPretrained(join(dir, "xlmr-saved"), quiet)) instanceof RobertaModel);
  // RobertaForCausalLM (is_decoder) is refused on purpose.
  await assert.rejects(AutoModelForCausalLM.fromPretrained(xlmr), /model_type "xlm-roberta" has no causal LM model here \(available: base model, sequence classification, masked LM\)/);
});

const ids = [[0, 7, 9, 11, 4, 2], [0, 13, 4, 17, 2, 1]];
const attentionMask = [[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0]];
const labels = tensor([[-100, 8, -100, -100, 20, -100], [-100, -100, 30, -100, -100, -100]], { dtype: "int32" });

test("RobertaForMaskedLM: no pooler, lm_head.* names, decoder tied to the embeddings and to lm_head.bias, HF's head", () => {
  manualSeed(2);
  const m = new RobertaForMaskedLM(tiny()).eval();
  const keys = [...m.stateDict().keys()];
  assert.ok(!keys.some((k) => k.includes("pooler")));
  for (const k of ["lm_head.dense.weight", "lm_head.layer_norm.weight", "lm_head.layer_norm.bias", "lm_head.bias", "lm_head.decoder.weight", "roberta.encoder.layer.1.output.dense.weight"])
    assert.ok(keys.includes(k), k);
  const head = m.lmHead;
  assert.equal(head.decoder.weight, m.roberta.embeddings.wordEmbeddings.weight);
  assert.equal(head.decoder.bias, head.bias);
  assert.ok(head.bias.data.every((v) => v === 0), "_init_weights zeroes the bias");
  head.bias.data.fill(0.25);
  // hidden_act does not reach the head: RobertaLMHead always applies the exact GELU.
  const relu = new RobertaForMaskedLM(tiny({ hiddenAct: "relu" })).eval();
  for (const model of [m, relu]) {
    const out = model.forward({ inputIds: ids, attentionMask, labels });
    const p = model.lmHead;
    const t = layerNorm(gelu(linear(out.lastHiddenState!, p.dense.weight, p.dense.bias)), p.layerNorm.weight, p.layerNorm.bias, 1e-5);
    const want = add(linear(t, model.roberta.embeddings.wordEmbeddings.weight, null), p.bias);
    assertCloseRel("logits", out.logits, want, 1e-6);
    assert.ok(Math.abs(out.loss!.item() - crossEntropy(reshape(want, [12, 40]), reshape(labels, [12])).item()) < 1e-5);
    assert.ok(Math.abs(model.maskedLoss({ inputIds: ids, attentionMask, labels }).loss.item() - out.loss!.item()) < 1e-5, "maskedLoss = forward's loss");
  }
});

test("masked LM: saved once per tied tensor, loaded back; a classifier checkpoint loads with HF's warnings", async () => {
  manualSeed(3);
  const m = new RobertaForMaskedLM(tiny()).eval();
  const want = m.forward({ inputIds: ids, attentionMask }).logits;
  await m.savePretrained(join(dir, "mlm"));
  const { tensors } = await loadSafetensors(join(dir, "mlm", "model.safetensors"));
  assert.ok(tensors.has("lm_head.bias") && !tensors.has("lm_head.decoder.weight") && !tensors.has("lm_head.decoder.bias"));
  const seen: string[] = [];
  const back = await AutoModelForMaskedLM.fromPretrained(join(dir, "mlm"), { onWarning: (s) => seen.push(s) });
  assert.ok(back instanceof RobertaForMaskedLM);
  assert.deepEqual(seen, []);
  assertCloseRel("reloaded", back.forward({ inputIds: ids, attentionMask }).logits, want, 1e-6);

  const w: string[] = [];
  const fromCls = await RobertaForMaskedLM.fromPretrained(fixtureDir("roberta"), { onWarning: (s) => w.push(s) });
  assert.match(w[0], /not used when initializing RobertaForMaskedLM: \['classifier\.dense\.bias', 'classifier\.dense\.weight', 'classifier\.out_proj\.bias', 'classifier\.out_proj\.weight'\]/);
  assert.match(w[1], /newly initialized: \['lm_head\.bias', 'lm_head\.dense\.weight', 'lm_head\.dense\.bias', 'lm_head\.layer_norm\.weight', 'lm_head\.layer_norm\.bias'\]/);
  assert.ok(fromCls.lmHead.bias.data.every((x) => x === 0));
  // An MLM checkpoint saved with its pooler (roberta-base is) loads into the masked LM without a word about it.
  const withPooler = new RobertaModel(tiny());
  await withPooler.savePretrained(join(dir, "base"));
  const wp: string[] = [];
  await RobertaForMaskedLM.fromPretrained(join(dir, "base"), { onWarning: (s) => wp.push(s) });
  assert.ok(!wp.join().includes("pooler"), wp.join());
  // ... and into the classifier with the usual notes: the pooler unused, the head new.
  const wc: string[] = [];
  await RobertaForSequenceClassification.fromPretrained(join(dir, "mlm"), { numLabels: 2, onWarning: (s) => wc.push(s) });
  assert.match(wc.join("\n"), /newly initialized: \['classifier\.dense\.weight', 'classifier\.dense\.bias', 'classifier\.out_proj\.weight', 'classifier\.out_proj\.bias'\]/);
});

test("pretraining a RoBERTa masked LM further: its tokenizer's <mask>, the loss falls, the folder reloads", async () => {
  const from = join(dir, "mlm-from");
  await mkdir(from);
  for (const f of ["tokenizer.json", "tokenizer_config.json"]) await copyFile(join(DATA, "tokenizers", "tiny-roberta", f), join(from, f));
  const tokenizer = await AutoTokenizer.fromPretrained(from);
  manualSeed(4);
  await new RobertaForMaskedLM(tiny({ vocabSize: tokenizer.length, maxPositionEmbeddings: 34, padTokenId: tokenizer.padTokenId! })).savePretrained(from);
  // Templated sentences: enough structure that a tiny model's loss falls within a few dozen steps.
  const words = [["red", "small", "old", "quiet"], ["cat", "ship", "river", "house", "whale"], ["sees", "follows", "keeps"]];
  const lines = Array.from({ length: 400 }, (_, i) => `the ${words[0][i % 4]} ${words[1][(i * 7) % 5]} ${words[2][(i * 3) % 3]} the ${words[1][(i * 11) % 5]} .`);
  const corpus = join(dir, "corpus.txt");
  writeFileSync(corpus, lines.join("\n"));
  const out = join(dir, "mlm-further");
  const r = await pretrain({ model: { from, onWarning: () => {} }, corpus: { files: [corpus] }, maxLength: 32, output: out, batchSize: 8, maxSteps: 30,
    lr: 3e-3, warmupSteps: 3, logEvery: 5, valEvery: 30, valBlocks: 4, progressOutput: { write: () => true } });
  assert.equal(r.objective, "mlm");
  const csv = readFileSync(join(out, "metrics.csv"), "utf8").trim().split("\n").map((l) => l.split(","));
  const col = csv[0].indexOf("train_loss");
  const losses = csv.slice(1).map((row) => row[col]).filter(Boolean).map(Number);
  assert.ok(losses.at(-1)! < losses[0] - 0.5, `loss fell from ${losses[0]} to ${losses.at(-1)}`);
  assert.ok((await AutoModelForMaskedLM.fromPretrained(out)) instanceof RobertaForMaskedLM);
  assert.equal((await AutoTokenizer.fromPretrained(out)).maskToken, "<mask>");
});

test("a batch from a RoBERTa-style tokenizer: pads at padding_idx, so a padded row scores as it does alone", async () => {
  const tokenizer = await AutoTokenizer.fromPretrained(join(DATA, "tokenizers", "tiny-roberta"));
  manualSeed(5);
  const m = new RobertaForSequenceClassification(tiny({ vocabSize: tokenizer.length, numLabels: 3 })).eval();
  const batch = await tokenizer.call(["the quick brown fox", "Hello"], { padding: true });
  assert.equal(batch.tokenTypeIds, undefined, "RoBERTa's tokenizer gives no token type ids");
  const both = m.forward({ inputIds: batch.inputIds, attentionMask: batch.attentionMask }).logits;
  const alone = m.forward({ inputIds: [await tokenizer.encode("Hello")] }).logits;
  assertCloseRel("padded row", slice(both, 0, 1, 2), alone, 1e-6);
});

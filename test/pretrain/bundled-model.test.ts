import assert from "node:assert/strict";
import { readdir, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { bundledCorpus } from "../../src/bundled/corpus.js";
import { bundledModelPath } from "../../src/bundled/index.js";
import { loadSafetensors } from "../../src/io/safetensors.js";
import { AutoModelForMaskedLM } from "../../src/models/auto.js";
import { DistilBertForMaskedLM, DistilBertForSequenceClassification } from "../../src/models/distilbert/index.js";
import { MaskedBlockLoader, freshModel, packBlocks } from "../../src/pretrain/index.js";
import { manualSeed, noGrad } from "../../src/tensor/index.js";
import { AutoTokenizer } from "../../src/tokenizers/index.js";

const dir = bundledModelPath();

test("the bundled model is a Hugging Face DistilBERT folder with float16 weights; assets/ stays within 40 MB", async () => {
  const files = await readdir(dir);
  for (const f of ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "README.md"]) assert.ok(files.includes(f), f);
  let bytes = 0;
  const assets = dirname(dir);
  for (const f of await readdir(assets, { recursive: true })) {
    const s = await stat(join(assets, f));
    if (s.isFile()) bytes += s.size;
  }
  assert.ok(bytes <= 40e6, `assets/ holds ${bytes} bytes`);
  const { tensors } = await loadSafetensors(join(dir, "model.safetensors"));
  assert.ok([...tensors.values()].every((t) => t.dtype === "F16"));
  const model = await AutoModelForMaskedLM.fromPretrained(dir);
  assert.ok(model instanceof DistilBertForMaskedLM);
  assert.equal((await AutoTokenizer.fromPretrained(dir)).length, model.config.vocabSize);
  const notes: string[] = [];
  await DistilBertForSequenceClassification.fromPretrained(dir, { numLabels: 2, onWarning: (m) => notes.push(m) });
  assert.ok(notes.some((m) => m.includes("newly initialized: ['pre_classifier.weight'")));
});

test("its masked-LM loss on held-out corpus text is far below that of the same model untrained (about ln(vocab))", async () => {
  const tokenizer = await AutoTokenizer.fromPretrained(dir);
  const model = (await AutoModelForMaskedLM.fromPretrained(dir)) as DistilBertForMaskedLM;
  const texts = bundledCorpus().heldOut.map((d) => d.text);
  const blocks = (await packBlocks(tokenizer, texts, { blockSize: model.config.maxPositionEmbeddings, objective: "mlm" })).slice(0, 32);
  const masking = { maskTokenId: tokenizer.maskTokenId!, vocabSize: tokenizer.length, specialIds: new Set(tokenizer.allSpecialIds) };
  const batches = [...new MaskedBlockLoader(blocks, masking, { batchSize: 16, seed: 0 }).iterate(0)];
  const loss = (m: DistilBertForMaskedLM) => {
    m.eval();
    return noGrad(() => batches.reduce((s, b) => s + m.maskedLoss({ inputIds: b.inputIds, attentionMask: b.attentionMask, labels: b.labels! }).loss.item(), 0)) / batches.length;
  };
  manualSeed(0);
  const c = model.config;
  const untrained = freshModel("distilbert", { dim: c.dim, layers: c.nLayers, heads: c.nHeads, hiddenDim: c.hiddenDim }, c.maxPositionEmbeddings, tokenizer);
  const random = loss(untrained as DistilBertForMaskedLM), trained = loss(model);
  assert.ok(Math.abs(random - Math.log(tokenizer.length)) < 0.5, `untrained ${random.toFixed(3)} vs ln(vocab) ${Math.log(tokenizer.length).toFixed(3)}`);
  assert.ok(trained < random - 2.5, `bundled ${trained.toFixed(3)} vs untrained ${random.toFixed(3)}`);
});

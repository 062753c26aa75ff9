// The bundled causal LM (assets/tiny-lm, `--model bundled-lm`): a float16 Llama with a ChatML template, which
// `finetune pretrain` made from the bundled corpus (scripts/pretrain-bundled.ts lm).
import assert from "node:assert/strict";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { chatReply } from "../../src/cli/pipeline/generation.js";
import { modelRef } from "../../src/cli/pipeline/sources.js";
import { bundledCorpus } from "../../src/datasets/corpus.js";
import { bundledModelPath } from "../../src/datasets/index.js";
import { packageRoot } from "../../src/datasets/bundled-model.js";
import { loadSafetensors } from "../../src/io/safetensors.js";
import { AutoModelForCausalLM } from "../../src/models/auto.js";
import { LlamaForCausalLM } from "../../src/models/llama/index.js";
import { freshModel, packBlocks, pretrainingTexts } from "../../src/pretrain/index.js";
import { manualSeed, noGrad, tensor } from "../../src/tensor/index.js";
import { AutoTokenizer } from "../../src/tokenizers/index.js";

const dir = bundledModelPath("bundled-lm");

async function folderBytes(path: string): Promise<number> {
  let bytes = 0;
  for (const e of await readdir(path, { withFileTypes: true })) bytes += e.isDirectory() ? await folderBytes(join(path, e.name)) : (await stat(join(path, e.name))).size;
  return bytes;
}

test("bundled-lm names assets/tiny-lm: a float16 Llama with grouped-query attention, tied embeddings and a ChatML template", async () => {
  assert.equal(await modelRef("bundled-lm"), dir);
  assert.equal(await modelRef("bundled"), bundledModelPath());
  const files = await readdir(dir);
  for (const f of ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "README.md", "metrics.csv"]) assert.ok(files.includes(f), f);
  const { tensors } = await loadSafetensors(join(dir, "model.safetensors"));
  assert.ok([...tensors.values()].every((t) => t.dtype === "F16"));
  assert.ok(!tensors.has("lm_head.weight"), "the head is tied to the embeddings, so saved once");
  const model = await AutoModelForCausalLM.fromPretrained(dir);
  assert.ok(model instanceof LlamaForCausalLM);
  assert.ok(model.config.numKeyValueHeads < model.config.numAttentionHeads);
  const tokenizer = await AutoTokenizer.fromPretrained(dir);
  assert.equal(tokenizer.length, model.config.vocabSize);
  const prompt = tokenizer.applyChatTemplate([{ role: "user", content: "Hi" }], { tokenize: false, addGenerationPrompt: true });
  assert.equal(prompt, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  assert.deepEqual((await tokenizer.chatTurnEnd())?.text, "<|im_end|>");
  // The budget for everything the package ships.
  assert.ok(await folderBytes(join(packageRoot(), "assets")) <= 40 * 2 ** 20);
});

test("it learned the corpus and the template: held-out loss far below an untrained copy's, and chat replies end their turn", async () => {
  const tokenizer = await AutoTokenizer.fromPretrained(dir);
  const model = (await AutoModelForCausalLM.fromPretrained(dir)) as LlamaForCausalLM;
  const heldOut = bundledCorpus().heldOut;
  const blocks = (await packBlocks(tokenizer, pretrainingTexts(heldOut, tokenizer), { blockSize: 128, objective: "clm" })).slice(0, 8);
  const loss = (m: LlamaForCausalLM) => {
    m.eval();
    const ids = tensor(blocks.map((b) => [...b]), { dtype: "int32" });
    return noGrad(() => m.forward({ inputIds: ids, labels: ids }).loss!.item());
  };
  manualSeed(0);
  const c = model.config;
  const untrained = freshModel("llama", { dim: c.hiddenSize, layers: c.numHiddenLayers, heads: c.numAttentionHeads, kvHeads: c.numKeyValueHeads, hiddenDim: c.intermediateSize }, 256, tokenizer);
  const random = loss(untrained as LlamaForCausalLM), trained = loss(model);
  assert.ok(Math.abs(random - Math.log(tokenizer.length)) < 0.5, `untrained ${random.toFixed(3)} vs ln(vocab) ${Math.log(tokenizer.length).toFixed(3)}`);
  assert.ok(trained < random - 3, `bundled ${trained.toFixed(3)} vs untrained ${random.toFixed(3)}`);
  // A held-out WordNet question in the pretraining's own form: the reply is English and ends with <|im_end|>.
  const question = heldOut.find((d) => d.messages)!.messages![0]!;
  const reply = await chatReply(model, tokenizer, [question], { maxNewTokens: 64 });
  assert.equal(reply.finish, "eos", `${question.content} -> ${JSON.stringify(reply.text)}`);
  assert.match(reply.text, /^[a-z ,;'()-]+/i);
});

// The bundled causal LM (assets/tiny-lm, `--model bundled-lm`): a float16 Llama with a ChatML template, which
// `finetune pretrain` made from the bundled corpus (scripts/pretrain-bundled.ts lm).
import assert from "node:assert/strict";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { chatReply } from "../../src/cli/pipeline/generation.js";
import { modelRef } from "../../src/cli/pipeline/sources.js";
import { bundledCorpus } from "../../src/bundled/corpus.js";
import { bundledModelPath } from "../../src/bundled/index.js";
import { packageRoot } from "../../src/bundled/bundled-model.js";
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

test("it learned the corpus and the template: held-out loss far below an untrained copy's, and turns end as ChatML ends them", async () => {
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
  // The template's turns: in a held-out conversation, after each <|im_end|> it predicts the newline and then the next
  // <|im_start|>, as the pretraining's rendered WordNet conversations taught it.
  const conversation = heldOut.find((d) => d.messages)!;
  const ids = (await tokenizer.encode(pretrainingTexts([conversation], tokenizer)[0]!, { addSpecialTokens: false })).slice(0, 256);
  const logits = noGrad(() => model.forward({ inputIds: tensor([ids], { dtype: "int32" }) }).logits).toFloat32Array();
  const argmax = (i: number) => {
    const row = logits.subarray(i * tokenizer.length, (i + 1) * tokenizer.length);
    return row.indexOf(Math.max(...row));
  };
  const [imStart, imEnd] = tokenizer.convertTokensToIds(["<|im_start|>", "<|im_end|>"]);
  const ends = ids.map((id, i) => (id === imEnd && i + 2 < ids.length ? i : -1)).filter((i) => i >= 0);
  assert.ok(ends.length >= 4, `${ends.length} turns`);
  const right = ends.filter((i) => argmax(i) === ids[i + 1] && argmax(i + 1) === imStart).length;
  assert.ok(right >= 0.9 * ends.length, `${right} of ${ends.length} turn ends followed by newline and <|im_start|>`);
  // Asked about a word, it answers in words (a small model: not necessarily the right ones).
  const reply = await chatReply(model, tokenizer, [conversation.messages![0]!], { maxNewTokens: 8 });
  assert.match(reply.text, /^[a-z(]/i, JSON.stringify(reply.text));
});

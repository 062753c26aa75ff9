import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pretrain as pretrainCommand } from "../../src/cli/commands/pretrain.js";
import { AutoModelForCausalLM, AutoModelForMaskedLM } from "../../src/models/auto.js";
import { DistilBertForMaskedLM } from "../../src/models/distilbert/index.js";
import { GPT2LMHeadModel } from "../../src/models/gpt2/index.js";
import { documentSentences, pretrain, pretrainingTexts, seededDraw, sentenceRows, type FreshModelSpec, type PretrainOptions } from "../../src/pretrain/index.js";
import { Generator } from "../../src/tensor/index.js";
import { AutoTokenizer } from "../../src/tokenizers/index.js";
import { tempDir } from "../io/fixtures.js";

let dir = "";
let cleanup = async () => {};
let corpus = "";
before(async () => {
  ({ dir, cleanup } = await tempDir("pretrain-run"));
  // Templated sentences: enough structure that a tiny model's loss falls within a few dozen steps.
  const adjectives = ["red", "small", "old", "quiet", "bright", "heavy"];
  const nouns = ["cat", "ship", "river", "house", "whale", "letter", "garden", "captain"];
  const verbs = ["sees", "follows", "carries", "finds", "paints", "keeps"];
  const gen = new Generator(12345);
  const pick = <T>(a: T[]) => a[gen.int(a.length)];
  const lines = Array.from({ length: 600 }, () => `the ${pick(adjectives)} ${pick(nouns)} ${pick(verbs)} the ${pick(nouns)} near the ${pick(nouns)} .`);
  corpus = join(dir, "corpus.txt");
  await writeFile(corpus, `${lines.join("\n")}\n`);
});
after(() => cleanup());

const quiet = { write: () => true };
const FRESH: FreshModelSpec = { arch: "distilbert", size: { dim: 32, layers: 1, heads: 2 }, vocabSize: 120 };
const base = (output: string): PretrainOptions => ({
  model: FRESH, corpus: { files: [corpus] }, maxLength: 32, output, batchSize: 8, maxSteps: 40, lr: 3e-3, warmupSteps: 4, logEvery: 5, valEvery: 20, valBlocks: 8, progressOutput: quiet,
});

async function trainLosses(output: string): Promise<number[]> {
  const [header, ...rows] = (await readFile(join(output, "metrics.csv"), "utf8")).trim().split("\n").map((l) => l.split(","));
  const col = header.indexOf("train_loss");
  return rows.map((r) => r[col]).filter(Boolean).map(Number);
}

test("masked-LM pretraining of a micro DistilBERT lowers the loss and writes a loadable model folder", async () => {
  const out = join(dir, "mlm");
  const r = await pretrain(base(out));
  const losses = await trainLosses(out);
  assert.equal(r.globalStep, 40);
  assert.ok(losses[0] > Math.log(120) - 0.5, `first loss ${losses[0]} is near ln(vocab)`);
  assert.ok(losses.at(-1)! < losses[0] - 1, `loss fell from ${losses[0]} to ${losses.at(-1)}`);
  assert.ok(r.finalValLoss! < Math.log(120) - 1, `held-out loss ${r.finalValLoss}`);
  const model = await AutoModelForMaskedLM.fromPretrained(out);
  assert.ok(model instanceof DistilBertForMaskedLM);
  const tokenizer = await AutoTokenizer.fromPretrained(out);
  assert.equal(tokenizer.maskToken, "[MASK]");
  assert.equal(tokenizer.length, model.config.vocabSize);
  const header = (await readFile(join(out, "metrics.csv"), "utf8")).split("\n")[0];
  assert.match(header, /^step,epoch,elapsed_s,lr,train_loss,.*val_loss/);
});

test("documentSentences, seededDraw, sentenceRows: sentences cut at sentence ends, short fragments left out, a seeded draw, [CLS] sentence [SEP] rows", async () => {
  const tokenizer = await AutoTokenizer.fromPretrained(join(dir, "mlm"));
  const docs = ["The red cat sees the ship. The old whale keeps the letter! A house? The quiet captain finds the garden near the river.", "the small cat paints the house"];
  const want = ["The red cat sees the ship.", "The old whale keeps the letter!", "The quiet captain finds the garden near the river.", "the small cat paints the house"];
  assert.deepEqual(documentSentences(docs), want);
  assert.deepEqual(seededDraw(want, 100, 1).sort(), [...want].sort(), "all of them when fewer than asked");
  const two = seededDraw(want, 2, 9);
  assert.equal(two.length, 2);
  assert.equal(new Set(two).size, 2, "without replacement");
  assert.deepEqual(two, seededDraw(want, 2, 9));
  const draws = new Set(Array.from({ length: 20 }, (_, seed) => seededDraw(want, 2, seed).join("|")));
  assert.ok(draws.size > 4, `the seed chooses: ${draws.size} different draws of 20`);
  const rows = await sentenceRows(tokenizer, want, 32);
  const { inputIds } = await tokenizer.call(want, { addSpecialTokens: true, returnTokenTypeIds: false });
  assert.deepEqual(rows.map((r) => Array.from(r)), inputIds);
  assert.ok(rows.every((r) => r[0] === tokenizer.clsTokenId && r.at(-1) === tokenizer.sepTokenId));
  const short = await sentenceRows(tokenizer, want, 5);
  assert.ok(short.every((r) => r.length <= 5 && r.at(-1) === tokenizer.sepTokenId), "truncated to maxLength, [SEP] kept");
});

test("masked-LM pretraining with single-sentence rows mixed in: their share of the rows, the loss still falls", async () => {
  const out = join(dir, "mlm-sentences");
  const r = await pretrain({ ...base(out), sentenceFraction: 0.5 });
  assert.ok(r.trainSentences > 0 && r.trainSentences === r.trainBlocks, `${r.trainSentences} sentence rows beside ${r.trainBlocks} blocks`);
  // Half the rows are full 32-token blocks, the other half shorter sentences: not every row counts 32 tokens.
  const atBlockLength = r.globalStep * 8 * 32;
  assert.ok(r.tokensSeen < atBlockLength && r.tokensSeen > atBlockLength / 2, `${r.tokensSeen} tokens in ${r.globalStep} steps`);
  const losses = await trainLosses(out);
  assert.ok(losses.at(-1)! < losses[0] - 1, `loss fell from ${losses[0]} to ${losses.at(-1)}`);
  await assert.rejects(pretrain({ ...base(join(dir, "bad")), sentenceFraction: 1 }), /sentenceFraction must be in \[0, 1\)/);
});

test("masked-LM pretraining with sentence-vector distillation: the sentence rows are the teacher's sentences, and [CLS] learns their vectors", async () => {
  // A teacher that knows each sentence's first noun: a fixed random direction per noun, which [CLS] can only carry
  // by reading the sentence.
  const nouns = ["cat", "ship", "river", "house", "whale", "letter", "garden", "captain"];
  const gen = new Generator(99);
  const direction = new Map(nouns.map((n) => [n, Array.from({ length: 8 }, () => gen.normal())]));
  const sentences = (await readFile(corpus, "utf8")).trim().split("\n").slice(0, 300);
  const vectorOf = (s: string) => direction.get(s.split(" ")[2])!;
  const teacher = join(dir, "teacher.jsonl");
  await writeFile(teacher, sentences.map((text) => JSON.stringify({ text, vector: vectorOf(text) })).join("\n"));
  const agreement = async (output: string) => {
    const model = await AutoModelForMaskedLM.fromPretrained(output);
    const tokenizer = await AutoTokenizer.fromPretrained(output);
    model.eval();
    const probe = sentences.slice(0, 64);
    const enc = await tokenizer.call(probe, { padding: true });
    const h = model.forward({ inputIds: enc.inputIds, attentionMask: enc.attentionMask }).lastHiddenState!;
    const [, l, d] = h.shape;
    const cos = probe.map((s, i) => {
      const c = [...h.data.subarray(i * l * d, i * l * d + 8)], v = vectorOf(s);
      return c.reduce((acc, x, k) => acc + x * v[k], 0) / Math.hypot(...c) / Math.hypot(...v);
    });
    return cos.reduce((a, b) => a + b, 0) / cos.length;
  };
  const opts = { ...base(join(dir, "mlm-teacher")), sentenceFraction: 0.5, maxSteps: 80 };
  const taught = await pretrain({ ...opts, distillSentences: teacher, distillWeight: 2 });
  assert.equal(taught.trainSentences, Math.min(300, taught.trainBlocks), "the teacher's sentences are the sentence rows");
  const plain = await pretrain({ ...opts, output: join(dir, "mlm-no-teacher") });
  const [withTeacher, without] = [await agreement(taught.output), await agreement(plain.output)];
  assert.ok(withTeacher > 0.45 && withTeacher - without > 0.4, `[CLS] against the teacher's vectors: cosine ${withTeacher} with distillation, ${without} without`);
  await assert.rejects(pretrain({ ...base(join(dir, "bad")), distillSentences: teacher }), /--distill-sentences: .* --sentence-fraction above 0/);
  const wide = join(dir, "wide.jsonl");
  await writeFile(wide, sentences.map((text) => JSON.stringify({ text, vector: Array.from({ length: 40 }, (_, k) => k + 1) })).join("\n"));
  await assert.rejects(pretrain({ ...opts, output: join(dir, "bad"), distillSentences: wide }), /wide\.jsonl: 40-d sentence vectors need more than the model's 32 hidden coordinates/);
});

test("next-token pretraining of a micro GPT-2 with a byte-level BPE tokenizer lowers the loss", async () => {
  const out = join(dir, "clm");
  const r = await pretrain({ ...base(out), model: { ...FRESH, arch: "gpt2", vocabSize: 300 }, maxSteps: 30 });
  const losses = await trainLosses(out);
  assert.ok(losses.at(-1)! < losses[0] - 1, `loss fell from ${losses[0]} to ${losses.at(-1)}`);
  assert.ok(r.finalValLoss! < Math.log(300) - 1);
  assert.ok((await AutoModelForCausalLM.fromPretrained(out)) instanceof GPT2LMHeadModel);
});

test("a run stopped early and resumed from its checkpoint ends with the same weights as an uninterrupted run", async () => {
  const opts = { maxSteps: 12, valEvery: 5 };
  const straight = join(dir, "straight"), resumed = join(dir, "resumed");
  const first = await pretrain({ ...base(resumed), ...opts, maxMinutes: 0 });
  assert.equal(first.globalStep, 1);
  assert.equal(first.stopReason, "stopped");
  // The same tokenizer for both: a second training run would number the tokens differently.
  await pretrain({ ...base(straight), ...opts, model: { ...FRESH, tokenizer: resumed } });
  const second = await pretrain({ ...base(resumed), ...opts, resume: true });
  assert.equal(second.globalStep, 12);
  assert.deepEqual(await readFile(join(resumed, "model.safetensors")), await readFile(join(straight, "model.safetensors")));
  // The resumed run's loss curve keeps its first part (the validation it ran when stopped at step 1) and
  // otherwise is the uninterrupted run's, all but the clock.
  const curve = async (out: string) => (await readFile(join(out, "metrics.csv"), "utf8")).trim().split("\n")
    .map((line) => line.split(",").filter((_, i) => i !== 2).join(","));
  const [withStop, ...rest] = (await curve(resumed)).slice(1);
  assert.match(withStop, /^1,0,,,\d/);
  assert.deepEqual([(await curve(resumed))[0], ...rest], await curve(straight));
});

test("an existing model pretrained further keeps its architecture and tokenizer, starts from its weights and resumes", async () => {
  for (const arch of ["distilbert", "gpt2"] as const) {
    const first = join(dir, `further-${arch}-1`), second = join(dir, `further-${arch}-2`);
    const opts = { maxSteps: 30, lr: 3e-3 };
    const a = await pretrain({ ...base(first), ...opts, model: { ...FRESH, arch, vocabSize: 200 } });
    const b = await pretrain({ ...base(second), ...opts, lr: 1e-3, model: { from: first } });
    assert.equal(b.objective, arch === "distilbert" ? "mlm" : "clm");
    assert.equal(b.parameters, a.parameters);
    assert.deepEqual(await readFile(join(second, "tokenizer.json")), await readFile(join(first, "tokenizer.json")));
    const config = async (d: string) => { const { torch_dtype: _, ...c } = JSON.parse(await readFile(join(d, "config.json"), "utf8")); return c; };
    assert.deepEqual(await config(second), await config(first));
    // Its first losses are the first model's last ones, not a random model's ln(vocab).
    assert.ok((await trainLosses(second))[0] < (await trainLosses(first))[0] - 1, arch);
    assert.ok(b.finalValLoss! < a.finalValLoss!, `${arch}: held-out loss ${a.finalValLoss} then ${b.finalValLoss}`);
  }
  // Stopped after its first step and resumed, pretraining further ends where an uninterrupted run does.
  const from = join(dir, "further-distilbert-1"), straight = join(dir, "further-straight"), resumed = join(dir, "further-resumed");
  const opts = { maxSteps: 12, valEvery: 5, model: { from } };
  assert.equal((await pretrain({ ...base(resumed), ...opts, maxMinutes: 0 })).globalStep, 1);
  await pretrain({ ...base(straight), ...opts });
  assert.equal((await pretrain({ ...base(resumed), ...opts, resume: true })).globalStep, 12);
  assert.deepEqual(await readFile(join(resumed, "model.safetensors")), await readFile(join(straight, "model.safetensors")));

  await assert.rejects(pretrainCommand.run([corpus, "--model", join(dir, "further-gpt2-1"), "--dim", "64", "--output", join(dir, "x")]), /--dim shapes a fresh model; --model brings its own/);
  await assert.rejects(pretrainCommand.run([corpus, "--model", join(dir, "further-gpt2-1"), "--max-length", "4096", "--output", join(dir, "x")]), /--max-length 4096 is longer than .* 32 positions/);
});

test("finetune pretrain: flags become a run; a missing --output or corpus is a usage error", async () => {
  const out = join(dir, "cli");
  const args = [corpus, "--dim", "32", "--layers", "1", "--heads", "2", "--max-length", "32", "--vocab-size", "120", "--batch-size", "8",
    "--max-steps", "6", "--val-every", "3", "--lr", "1e-3", "--dtype", "float16", "--output", out];
  const log = console.log;
  const printed: string[] = [];
  console.log = (s: string) => printed.push(s);
  try {
    await pretrainCommand.run(args);
  } finally {
    console.log = log;
  }
  assert.match(printed.join("\n"), /^pretrained distilbert \(.* parameters\) for 6 steps/);
  assert.equal(JSON.parse(await readFile(join(out, "config.json"), "utf8")).torch_dtype, "float16");
  await assert.rejects(pretrainCommand.run([corpus]), /--output is required/);
  await assert.rejects(pretrainCommand.run(["--output", out]), /give text files or --bundled/);
});

test("finetune pretrain --arch llama --kv-heads --special-tokens --chat-template: grouped-query attention, the template and its tokens in the folder", async () => {
  const out = join(dir, "chat-llama");
  const template = join(dir, "chatml.jinja");
  await writeFile(template, "{%- for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{%- endif %}");
  const args = [corpus, "--arch", "llama", "--dim", "32", "--layers", "1", "--heads", "4", "--kv-heads", "2", "--max-length", "32", "--vocab-size", "300",
    "--special-tokens", "<|im_start|>,<|im_end|>", "--chat-template", template, "--batch-size", "8", "--max-steps", "2", "--val-every", "2", "--output", out];
  const log = console.log;
  console.log = () => {};
  try {
    await pretrainCommand.run(args);
  } finally {
    console.log = log;
  }
  const config = JSON.parse(await readFile(join(out, "config.json"), "utf8")) as Record<string, unknown>;
  assert.equal(config.num_key_value_heads, 2);
  assert.equal(config.num_attention_heads, 4);
  const tokenizer = await AutoTokenizer.fromPretrained(out);
  assert.deepEqual(tokenizer.convertTokensToIds(["<|endoftext|>", "<|im_start|>", "<|im_end|>"]), [0, 1, 2]);
  assert.equal(tokenizer.length, 300);
  const messages = [{ role: "user", content: "What does \"whale\" mean?" }, { role: "assistant", content: "a very large sea animal" }];
  const [rendered, plain] = pretrainingTexts([{ text: "whale: a very large sea animal", messages }, { text: "the old ship ." }], tokenizer);
  assert.equal(rendered, "<|im_start|>user\nWhat does \"whale\" mean?<|im_end|>\n<|im_start|>assistant\na very large sea animal<|im_end|>\n");
  assert.equal(plain, "the old ship .");
  // Without a template the same documents are their plain text, as for an encoder.
  assert.deepEqual(pretrainingTexts([{ text: "whale: a very large sea animal", messages }], await AutoTokenizer.fromPretrained(join(dir, "clm"))), ["whale: a very large sea animal"]);
  await assert.rejects(pretrainCommand.run([corpus, "--arch", "gpt2", "--kv-heads", "1", "--dim", "32", "--layers", "1", "--heads", "2", "--output", join(dir, "x")]), /--kv-heads: gpt2 has no grouped-query attention/);
});

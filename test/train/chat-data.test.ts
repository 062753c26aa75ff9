// Conversation rows for instruction tuning: `messages` and ShareGPT `conversations` rendered with a real chat
// template, the loss on exactly the assistant turns (each with its end-of-turn token), and every row that cannot
// be learned from reported with its line, never dropped silently.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { IGNORE_INDEX } from "../../src/data/collate.js";
import { readRecords } from "../../src/data/records.js";
import { tokenizeDataset } from "../../src/train/tokenize-dataset.js";
import { chatTokenizer, maskedSpans } from "../helpers/chat.js";
import { scratchDir } from "../helpers/temp-dir.js";

const rows = [
  { messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hi" }, { role: "assistant", content: "Hello!" },
    { role: "user", content: "Capital of France?" }, { role: "assistant", content: "Paris." }] },
  { conversations: [{ from: "human", value: "2+2?" }, { from: "gpt", value: "4" }] },
  { messages: [{ role: "user", content: "nobody answers" }] },
  { prompt: "Q: 1+1?\nA:", completion: " 2" },
  { messages: [{ role: "user", content: "long " + "word ".repeat(60) }, { role: "assistant", content: "ok" }] },
  { messages: [{ role: "user", content: "short" }, { role: "assistant", content: "an answer " + "that goes on ".repeat(20) }] },
];

async function file(lines: unknown[]): Promise<string> {
  const path = join(await scratchDir("chat-data-"), "train.jsonl");
  await writeFile(path, lines.map((r) => JSON.stringify(r)).join("\n") + "\n");
  return path;
}

/** The text of each run of labelled tokens. */
async function learned(tokenizer: Awaited<ReturnType<typeof chatTokenizer>>, ids: number[], labels: number[]): Promise<string[]> {
  const text = await tokenizer.decode(ids);
  const mask = labels.map((l) => (l === IGNORE_INDEX ? 0 : 1));
  // Decoding GPT-2 tokens gives the text back exactly, so the spans can be cut from it.
  return maskedSpans(tokenizer, text, mask);
}

test("assistant turns only, with their end-of-turn token; unlearnable rows reported by line", async () => {
  const tokenizer = await chatTokenizer("Qwen-Qwen2.5-7B-Instruct");
  const path = await file(rows);
  const records = await readRecords(path);
  const warnings: string[] = [];
  const examples = await tokenizeDataset(tokenizer, records, { task: "causal-lm", maxLength: 48, onWarning: (w) => warnings.push(w) });

  assert.equal(examples.length, 4);
  const [chat, shareGpt, pair, cut] = examples;
  assert.deepEqual(await learned(tokenizer, chat!.inputIds, chat!.labels!), ["Hello!<|im_end|>", "Paris.<|im_end|>"]);
  assert.deepEqual(await learned(tokenizer, shareGpt!.inputIds, shareGpt!.labels!), ["4<|im_end|>"]);
  assert.equal(await tokenizer.decode(shareGpt!.inputIds), "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n" +
    "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n");
  // Prompt/completion rows end with the tokenizer's eos, which is Qwen's end-of-turn token.
  assert.deepEqual(await learned(tokenizer, pair!.inputIds, pair!.labels!), [" 2<|im_end|>"]);
  // Row 6 is cut to 48 tokens inside its answer: what is left of the answer is still learned.
  assert.equal(cut!.inputIds.length, 48);
  assert.match((await learned(tokenizer, cut!.inputIds, cut!.labels!))[0]!, /^an answer that goes on/);

  assert.equal(warnings.length, 1);
  assert.equal(warnings[0], `tokenizeDataset: truncated 2 of 6 rows to maxLength 48 tokens (raise maxLength / --max-length to keep more) (${path}:5, ${path}:6); ` +
    `dropped 2 of 6 rows: no assistant turn (${path}:3); no token to learn left after truncation to 48 (${path}:5)`);

  // --train-on-prompt: every token of the conversation.
  const all = await tokenizeDataset(tokenizer, records.slice(0, 1), { task: "causal-lm", maxLength: 128, trainOnPrompt: true });
  assert.deepEqual(all[0]!.labels, all[0]!.inputIds);
});

test("a row the template refuses, and turns it cannot locate, are reported with their lines", async () => {
  const gemma = await chatTokenizer("google-gemma-2-2b-it");
  const path = await file([rows[0], rows[1]]);
  const warnings: string[] = [];
  const examples = await tokenizeDataset(gemma, await readRecords(path), { task: "causal-lm", maxLength: 256, onWarning: (w) => warnings.push(w) });
  assert.equal(examples.length, 1);
  assert.deepEqual(await learned(gemma, examples[0]!.inputIds, examples[0]!.labels!), ["4<end_of_turn>"]);
  assert.deepEqual(warnings, [`tokenizeDataset: dropped 1 of 2 rows: chat template: System role not supported (${path}:1)`]);

  const mistral = await chatTokenizer("mistralai-Mistral-Nemo-Instruct-2407");
  const noted: string[] = [];
  await assert.rejects(tokenizeDataset(mistral, await readRecords(await file([rows[0]])), { task: "causal-lm", maxLength: 256, onWarning: (w) => noted.push(w) }),
    /no row has a token to learn: .*train\.jsonl:1: no assistant turn could be located in the chat template's rendering/);
});

test("malformed conversations name the file, line and turn; a tokenizer without a template says how to give one", async () => {
  const tokenizer = await chatTokenizer("Qwen-Qwen2.5-7B-Instruct");
  const bad = await file([rows[1], { messages: [{ role: "user", content: [{ type: "image" }] }] }]);
  await assert.rejects(tokenizeDataset(tokenizer, await readRecords(bad), { task: "causal-lm", maxLength: 64 }),
    new RegExp(`^Error: ${bad}:2: messages\\[0\\]: "content" must be text, got a list \\(multimodal parts are not supported\\)$`));
  const sharegpt = await file([{ conversations: [{ from: "robot", value: "beep" }] }]);
  await assert.rejects(tokenizeDataset(tokenizer, await readRecords(sharegpt), { task: "causal-lm", maxLength: 64 }), /:1: conversations\[0\]: "from" must be one of system, human/);
  tokenizer.chatTemplate = undefined;
  await assert.rejects(tokenizeDataset(tokenizer, await readRecords(await file([rows[1]])), { task: "causal-lm", maxLength: 64 }),
    /:1: the tokenizer has no chat template .*--chat-template FILE/);
});

test("a template that writes nothing after a reply is flagged: the model could not learn to stop", async () => {
  const tokenizer = await chatTokenizer("Qwen-Qwen2.5-7B-Instruct");
  tokenizer.chatTemplate = "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}";
  const warnings: string[] = [];
  await tokenizeDataset(tokenizer, [rows[1]], { task: "causal-lm", maxLength: 64, onWarning: (w) => warnings.push(w) });
  assert.match(warnings.join(), /the chat template writes nothing after an assistant turn/);
  assert.deepEqual(await tokenizer.chatTurnEnd(), { text: "", tokenId: null });
  tokenizer.chatTemplate = (await chatTokenizer("Qwen-Qwen2.5-7B-Instruct")).chatTemplate;
  assert.deepEqual(await tokenizer.chatTurnEnd(), { text: "<|im_end|>", tokenId: tokenizer.convertTokensToIds("<|im_end|>") });
});

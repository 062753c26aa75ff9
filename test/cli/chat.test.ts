// Instruction tuning through the command line, as users run it: a tiny random Llama with the real Phi-3-mini
// tokenizer and chat template learns from conversations with LoRA and packing; chat answers through the adapter
// (JSON lines from stdin, and an interactive session); eval scores loss on assistant tokens and exact-match. A tiny
// GPT-2 gets Qwen2.5's ChatML template from --chat-template, saved with its output.
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, test } from "node:test";
import { interactiveChat } from "../../src/cli/commands/chat.js";
import { chatReply, generateText } from "../../src/cli/pipeline/generation.js";
import { loadOutput } from "../../src/cli/pipeline/trained.js";
import { TEMPLATES } from "../helpers/chat.js";
import { cli, removeTempDirs, tempDir, tinyChatLlamaDir, tinyGpt2Dir } from "./tiny-models.js";

after(removeTempDirs);

const sum = (a: number, b: number) => [{ role: "user", content: `What is ${a} + ${b}?` }, { role: "assistant", content: `#### ${a + b}` }];
const rows = Array.from({ length: 24 }, (_, i) => (i % 4 === 3
  ? { conversations: [{ from: "human", value: `Add ${i} and 1.` }, { from: "gpt", value: `#### ${i + 1}` }] }
  : { messages: [{ role: "system", content: "Answer with the sum." }, ...sum(i, 2), ...sum(i, 3)] }));

let llama: string, gpt2: string, dir: string, train: string, test_: string;
before(async () => {
  [llama, gpt2, dir] = await Promise.all([tinyChatLlamaDir(), tinyGpt2Dir(), tempDir()]);
  train = join(dir, "train.jsonl");
  test_ = join(dir, "test.jsonl");
  await writeFile(train, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  await writeFile(test_, [JSON.stringify({ messages: sum(4, 4) }), JSON.stringify({ prompt: "2 + 2 =", completion: " #### 4" })].join("\n") + "\n");
});

test("conversations train with LoRA and packing; chat and exact-match eval use the adapter", async () => {
  const out = join(dir, "llama-lora");
  const trained = await cli(["train", "--model", llama, "--method", "lora", "--train", train, "--test", test_, "--packing", "--max-length", "96",
    "--batch-size", "2", "--max-steps", "3", "--lr", "1e-3", "--output", out]);
  assert.equal(trained.code, 0, trained.stderr);
  assert.match(trained.stderr, /packing: 24 examples \(\d+ tokens\) into \d+ rows of up to 96 tokens/);
  assert.match(trained.stdout, /^test: loss \d+\.\d+ {2}ppl /m);

  const input = ["Hi there", JSON.stringify({ messages: sum(1, 1).slice(0, 1) }), JSON.stringify({ conversations: [{ from: "human", value: "Add 2 and 1." }] })];
  const chat = await cli(["chat", "--model", out, "--max-new-tokens", "5"], input.join("\n") + "\n");
  assert.equal(chat.code, 0, chat.stderr);
  const replies = chat.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(replies.length, 3);
  assert.equal(replies[0].input, "Hi there");
  assert.deepEqual(replies[1].input, [{ role: "user", content: "What is 1 + 1?" }]);
  assert.deepEqual(replies[2].input, [{ role: "user", content: "Add 2 and 1." }]);
  for (const r of replies) {
    assert.equal(typeof r.reply, "string");
    assert.ok(r.tokens >= 1 && r.tokens <= 5);
    assert.ok(["eos", "stop", "length"].includes(r.finish));
  }
  // Greedy decoding is deterministic: the same input gives the same reply.
  const again = await cli(["chat", "--model", out, "--max-new-tokens", "5"], input[0] + "\n");
  assert.equal(JSON.parse(again.stdout).reply, replies[0].reply);

  const evaluated = await cli(["eval", "--model", out, "--data", test_, "--metric", "exact-match", "--max-new-tokens", "4", "--json"]);
  assert.equal(evaluated.code, 0, evaluated.stderr);
  const metrics = JSON.parse(evaluated.stdout);
  assert.ok(Number.isFinite(metrics.loss) && metrics.ppl > 1);
  assert.equal(metrics.exact_match_rows, 2);
  assert.ok(metrics.exact_match >= 0 && metrics.exact_match <= 1);
});

test("--chat-template gives GPT-2 a ChatML template, saved with the output; its end-of-turn text is a stop string", async () => {
  const template = join(TEMPLATES, "Qwen-Qwen2.5-7B-Instruct.jinja");
  const out = join(dir, "gpt2-chat");
  const trained = await cli(["train", "--model", gpt2, "--method", "lora", "--train", train, "--chat-template", template,
    "--max-length", "96", "--batch-size", "4", "--max-steps", "2", "--output", out]);
  assert.equal(trained.code, 0, trained.stderr);
  assert.equal(JSON.parse(await readFile(join(out, "tokenizer_config.json"), "utf8")).chat_template, await readFile(template, "utf8"));

  const loaded = await loadOutput(out, { batchSize: 1, hub: {} });
  // GPT-2's vocabulary has no <|im_end|> token, so the template's end of turn is a string to stop at.
  assert.deepEqual(await loaded.tokenizer.chatTurnEnd(), { text: "<|im_end|>", tokenId: null });
  const reply = await chatReply(loaded.model!, loaded.tokenizer, [{ role: "user", content: "What is 1 + 1?" }], { maxNewTokens: 6 });
  assert.ok(!reply.text.includes("<|im_end|>"));

  const noTemplate = await cli(["chat", "--model", gpt2], "Hi\n");
  assert.equal(noTemplate.code, 2);
  assert.match(noTemplate.stderr, /the tokenizer has no chat template; give one with --chat-template FILE/);
  const badFile = await cli(["train", "--model", gpt2, "--method", "lora", "--train", train, "--chat-template", join(dir, "nope.jinja"), "--output", join(dir, "x")]);
  assert.match(badFile.stderr, /--chat-template .*nope\.jinja: no such file/);
  const prompt = await cli(["train", "--model", gpt2, "--method", "prompt", "--train", train, "--chat-template", template, "--packing", "--max-steps", "1", "--output", join(dir, "y")]);
  assert.equal(prompt.code, 2);
  assert.match(prompt.stderr, /--packing puts several examples in one row, but --method prompt puts its virtual tokens in front of the whole row/);
});

test("stop strings end generation and are left out; streamed text is the returned text", async () => {
  const loaded = await loadOutput(gpt2, { batchSize: 1, hub: {} });
  const free = await generateText(loaded.model!, loaded.tokenizer, "The meaning of life is", { maxNewTokens: 12 });
  assert.equal(free.finish, "length");
  assert.equal(free.tokens, 12);
  // A stop string from the middle of what greedy decoding writes anyway.
  const stop = free.text.slice(Math.floor(free.text.length / 2), Math.floor(free.text.length / 2) + 3);
  const streamed: string[] = [];
  const cut = await generateText(loaded.model!, loaded.tokenizer, "The meaning of life is", { maxNewTokens: 12, stop: [stop], onText: (t) => streamed.push(t) });
  assert.equal(cut.finish, "stop");
  assert.equal(cut.text, free.text.slice(0, free.text.indexOf(stop)));
  assert.equal(streamed.join(""), cut.text);

  const cli1 = await cli(["generate", "--model", gpt2, "--max-new-tokens", "12", "--stop", stop, "The meaning of life is"]);
  assert.equal(cli1.stdout, `The meaning of life is${cut.text}\n`);
});

test("an interactive session keeps the conversation, /reset starts over, /exit ends", async () => {
  const loaded = await loadOutput(llama, { batchSize: 1, hub: {} });
  const input = new PassThrough(), output = new PassThrough();
  let shown = "";
  output.on("data", (d: Buffer) => { shown += d; });
  const session = interactiveChat({ loaded, system: "Be brief.", opts: { maxNewTokens: 3 } }, input, output);
  input.end("What is 1 + 1?\nAnd 2 + 2?\n/reset\nWhat is 1 + 1?\n/exit\nnever read\n");
  await session;
  const replies = shown.split("> ").slice(1, -1).map((r) => r.trim());
  assert.equal(replies.length, 4, shown);
  assert.equal(replies[3], replies[0], "after /reset the same question gets the same (greedy) answer");
  assert.equal(replies[2], "", "/reset prints nothing");
  const first = await chatReply(loaded.model!, loaded.tokenizer, [{ role: "system", content: "Be brief." }, { role: "user", content: "What is 1 + 1?" }], { maxNewTokens: 3 });
  assert.equal(replies[0], `${first.text}${first.finish === "length" ? " [...]" : ""}`.trim());
});

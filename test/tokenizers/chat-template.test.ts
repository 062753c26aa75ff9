// Chat templates of real models rendered through the tokenizer, against the strings transformers renders for the
// same messages. The expected strings are written out by hand from each template's text and the prompt format its
// model card documents (Qwen's default system prompt, Llama 3.2's dated system header, Gemma's "model" role, ...),
// not produced by this code. Then the assistant-token masks, checked as the text of the masked spans.
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { AutoTokenizer, type ChatMessage } from "../../src/tokenizers/index.js";
import { TEMPLATES, TOKENIZERS, chatTokenizer, maskedSpans } from "../helpers/chat.js";
import { scratchDir } from "../helpers/temp-dir.js";

const SYSTEM: ChatMessage = { role: "system", content: "You are terse." };
const TWO_TURNS: ChatMessage[] = [
  { role: "user", content: "Hi" },
  { role: "assistant", content: "Hello!" },
  { role: "user", content: "2+2?" },
  { role: "assistant", content: "4" },
];

test("Qwen2.5: ChatML with Qwen's default system prompt when none is given", async (t_) => {
  const t = await chatTokenizer("Qwen-Qwen2.5-7B-Instruct");
  assert.equal(t.applyChatTemplate([{ role: "user", content: "Hi" }], { tokenize: false, addGenerationPrompt: true }),
    "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n" +
    "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  const text = t.applyChatTemplate([SYSTEM, ...TWO_TURNS], { tokenize: false });
  assert.equal(text, "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n" +
    "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n");

  const enc = await t.applyChatTemplate([SYSTEM, ...TWO_TURNS], { returnAssistantTokensMask: true });
  assert.equal(enc.text, text);
  assert.deepEqual(enc.inputIds, await t.applyChatTemplate([SYSTEM, ...TWO_TURNS]));
  assert.deepEqual(enc.unlocatedTurns, []);
  // Each turn's content and its <|im_end|>, which the model must learn to write; never the headers or the newline.
  const spans = await maskedSpans(t, text, enc.assistantMasks);
  t_.diagnostic(`masked spans: ${JSON.stringify(spans)} of ${enc.assistantMasks.filter((m) => m === 1).length} of ${enc.inputIds.length} tokens`);
  assert.deepEqual(spans, ["Hello!<|im_end|>", "4<|im_end|>"]);
});

test("Llama 3.2: bos, the dated system header, <|eot_id|> after every turn", async () => {
  const t = await chatTokenizer("meta-llama-Llama-3.2-3B-Instruct");
  const opts = { templateKwargs: { date_string: "26 Jul 2024" } };
  const text = t.applyChatTemplate([SYSTEM, ...TWO_TURNS], { ...opts, tokenize: false });
  assert.equal(text, "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n" +
    "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\nYou are terse.<|eot_id|>" +
    "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>" +
    "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n4<|eot_id|>");
  assert.ok(t.applyChatTemplate(TWO_TURNS.slice(0, 1), { ...opts, tokenize: false, addGenerationPrompt: true })
    .endsWith("Hi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"));
  const enc = await t.applyChatTemplate([SYSTEM, ...TWO_TURNS], { ...opts, returnAssistantTokensMask: true });
  assert.deepEqual(await maskedSpans(t, text, enc.assistantMasks), ["Hello!<|eot_id|>", "4<|eot_id|>"]);
  // The template trims message content, so the turn holds the trimmed text.
  const padded = await t.applyChatTemplate([{ role: "user", content: "Hi" }, { role: "assistant", content: "  Hey \n" }], { ...opts, returnAssistantTokensMask: true });
  assert.deepEqual(await maskedSpans(t, padded.text, padded.assistantMasks), ["Hey<|eot_id|>"]);
});

test("Gemma 2: the assistant is 'model', a system message is refused by the template itself", async () => {
  const t = await chatTokenizer("google-gemma-2-2b-it");
  assert.equal(t.applyChatTemplate(TWO_TURNS.slice(0, 3), { tokenize: false, addGenerationPrompt: true }),
    "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n<start_of_turn>user\n2+2?<end_of_turn>\n<start_of_turn>model\n");
  assert.throws(() => t.applyChatTemplate([SYSTEM, ...TWO_TURNS], { tokenize: false }), /chat template: System role not supported/);
  const enc = await t.applyChatTemplate(TWO_TURNS, { returnAssistantTokensMask: true });
  assert.deepEqual(await maskedSpans(t, enc.text, enc.assistantMasks), ["Hello!<end_of_turn>", "4<end_of_turn>"]);
});

test("Phi-3 (its real tokenizer) and Phi-3.5: eos after the last turn, turns end with <|end|>", async () => {
  const expected = "<|system|>\nYou are terse.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n" +
    "<|user|>\n2+2?<|end|>\n<|assistant|>\n4<|end|>\n<|endoftext|>";
  const phi35 = await chatTokenizer("microsoft-Phi-3.5-mini-instruct");
  assert.equal(phi35.applyChatTemplate([SYSTEM, ...TWO_TURNS], { tokenize: false }), expected);
  const phi3 = await AutoTokenizer.fromPretrained(join(TOKENIZERS, "phi-3-mini"));
  assert.equal(phi3.applyChatTemplate([SYSTEM, ...TWO_TURNS], { tokenize: false }), expected);
  assert.equal(phi3.applyChatTemplate([{ role: "user", content: "Hi" }], { tokenize: false, addGenerationPrompt: true }), "<|user|>\nHi<|end|>\n<|assistant|>\n");

  // The conversation cut after a middle turn renders eos where the whole goes on with <|user|>: the turn still ends
  // at <|end|> (Phi-3's <|end|> token swallows the newline after it: rstrip in its added_tokens).
  const enc = await phi3.applyChatTemplate([SYSTEM, ...TWO_TURNS], { returnAssistantTokensMask: true });
  assert.deepEqual(enc.unlocatedTurns, []);
  assert.deepEqual(await maskedSpans(phi3, expected, enc.assistantMasks), ["Hello!<|end|>\n", "4<|end|>\n<|endoftext|>"]);
});

test("Mistral Nemo writes the system message into the final user turn only: then no assistant turn can be located", async () => {
  const t = await chatTokenizer("mistralai-Mistral-Nemo-Instruct-2407");
  // The system message goes in front of the last message when that is a user turn (loop.last), so a conversation
  // ending with an assistant turn renders without it, and every prompt before an answer renders with it.
  assert.equal(t.applyChatTemplate([SYSTEM, ...TWO_TURNS], { tokenize: false }), "<s>[INST]Hi[/INST]Hello!</s>[INST]2+2?[/INST]4</s>");
  assert.equal(t.applyChatTemplate([SYSTEM, ...TWO_TURNS.slice(0, 3)], { tokenize: false, addGenerationPrompt: true }),
    "<s>[INST]Hi[/INST]Hello!</s>[INST]You are terse.\n\n2+2?[/INST]");
  const enc = await t.applyChatTemplate([SYSTEM, ...TWO_TURNS], { returnAssistantTokensMask: true });
  assert.deepEqual(enc.unlocatedTurns, [2, 4]);
  assert.ok(enc.assistantMasks.every((m) => m === 0));
  const noSystem = await t.applyChatTemplate(TWO_TURNS, { returnAssistantTokensMask: true });
  assert.deepEqual(noSystem.unlocatedTurns, []);
  assert.deepEqual(await maskedSpans(t, noSystem.text, noSystem.assistantMasks), ["Hello!</s>", "4</s>"]);
});

test("Qwen3: an empty think block on the final turn only, so only the final turn can be trained on", async () => {
  const t = await chatTokenizer("Qwen-Qwen3-0.6B");
  assert.equal(t.applyChatTemplate(TWO_TURNS.slice(0, 2), { tokenize: false }),
    "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nHello!<|im_end|>\n");
  assert.equal(t.applyChatTemplate(TWO_TURNS.slice(0, 1), { tokenize: false, addGenerationPrompt: true, templateKwargs: { enable_thinking: false } }),
    "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
  const enc = await t.applyChatTemplate(TWO_TURNS, { returnAssistantTokensMask: true });
  assert.deepEqual(enc.unlocatedTurns, [1]);
  assert.deepEqual(await maskedSpans(t, enc.text, enc.assistantMasks), ["<think>\n\n</think>\n\n4<|im_end|>"]);
});

test("text outside the Basic Multilingual Plane: masks follow JS string indices", async () => {
  const t = await chatTokenizer("Qwen-Qwen2.5-7B-Instruct");
  const enc = await t.applyChatTemplate([{ role: "user", content: "😀 or 🎉?" }, { role: "assistant", content: "🎉 ok" }], { returnAssistantTokensMask: true });
  assert.deepEqual(await maskedSpans(t, enc.text, enc.assistantMasks), ["🎉 ok<|im_end|>"]);
});

test("templates load from chat_template.jinja or a list of named templates, and savePretrained keeps them", async () => {
  const dir = await scratchDir("chat-template-");
  const qwen = await readFile(join(TEMPLATES, "Qwen-Qwen2.5-7B-Instruct.jinja"), "utf8");
  const base = await AutoTokenizer.fromPretrained(join(TOKENIZERS, "gpt2"));
  assert.equal(base.chatTemplate, undefined);
  assert.throws(() => base.applyChatTemplate([{ role: "user", content: "Hi" }], { tokenize: false }), /has no chat template/);

  await base.savePretrained(join(dir, "jinja"));
  await writeFile(join(dir, "jinja", "chat_template.jinja"), qwen);
  assert.equal((await AutoTokenizer.fromPretrained(join(dir, "jinja"))).chatTemplate, qwen);

  await mkdir(join(dir, "named"));
  await base.savePretrained(join(dir, "named"));
  const configFile = join(dir, "named", "tokenizer_config.json");
  const config = JSON.parse(await readFile(configFile, "utf8"));
  config.chat_template = [{ name: "default", template: "{{ messages[0].content }}!" }, { name: "tool_use", template: "tools: {{ tools | length }}" }];
  await writeFile(configFile, JSON.stringify(config));
  const named = await AutoTokenizer.fromPretrained(join(dir, "named"));
  const hi = [{ role: "user", content: "Hi" }];
  assert.equal(named.applyChatTemplate(hi, { tokenize: false }), "Hi!");
  assert.equal(named.applyChatTemplate(hi, { tokenize: false, tools: [{}, {}] }), "tools: 2");
  assert.equal(named.applyChatTemplate(hi, { tokenize: false, chatTemplate: "default", tools: [{}] }), "Hi!");
  assert.equal(named.applyChatTemplate(hi, { tokenize: false, chatTemplate: "{{ messages | length }}" }), "1");

  await named.savePretrained(join(dir, "again"));
  assert.deepEqual(JSON.parse(await readFile(join(dir, "again", "tokenizer_config.json"), "utf8")).chat_template, config.chat_template);
  const overridden = await AutoTokenizer.fromPretrained(join(dir, "again"));
  overridden.chatTemplate = qwen;
  await overridden.savePretrained(join(dir, "qwen"));
  assert.equal((await AutoTokenizer.fromPretrained(join(dir, "qwen"))).chatTemplate, qwen);
});

test("a template that fails to parse names the problem", async () => {
  const t = await chatTokenizer("Qwen-Qwen2.5-7B-Instruct");
  assert.throws(() => t.applyChatTemplate([{ role: "user", content: "Hi" }], { tokenize: false, chatTemplate: "{% for m in messages %}" }),
    /cannot parse the chat template/);
});

test("each template's end of turn, found by rendering, is the token generation stops at", async () => {
  const phi3 = await AutoTokenizer.fromPretrained(join(TOKENIZERS, "phi-3-mini"));
  assert.deepEqual(await phi3.chatTurnEnd(), { text: "<|end|>", tokenId: 32007 });
  const ends = { "Qwen-Qwen2.5-7B-Instruct": "<|im_end|>", "Qwen-Qwen3-0.6B": "<|im_end|>", "meta-llama-Llama-3.2-3B-Instruct": "<|eot_id|>",
    "google-gemma-2-2b-it": "<end_of_turn>", "microsoft-Phi-3.5-mini-instruct": "<|end|>", "mistralai-Mistral-Nemo-Instruct-2407": "</s>" } as const;
  for (const [name, text] of Object.entries(ends)) {
    const t = await chatTokenizer(name as keyof typeof ends);
    assert.deepEqual(await t.chatTurnEnd(), { text, tokenId: t.convertTokensToIds(text) }, name);
  }
});

// Checklist items 1, 3 and 4, end to end: hostile weights, config.json and tokenizer files put in a model folder and
// loaded the way a user would (from_pretrained, AutoTokenizer). Each must fail with one Error naming the file (and the
// field), at once, without allocating more than the file holds. The per-format unit tests are in
// test/io/safetensors.test.ts, test/models/loading.test.ts and test/tokenizers/.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AutoModel, AutoModelForCausalLM, AutoModelForSequenceClassification } from "../../src/models/index.js";
import { AutoTokenizer } from "../../src/tokenizers/index.js";
import { DATA, FIXTURES, assertNamesFile, rejection, tempDir, within } from "./helpers/common.js";

let dir = "";
let cleanup = async () => {};
before(async () => ({ dir, cleanup } = await tempDir("hostile-files")));
after(() => cleanup());

let n = 0;
/** A model folder with the gpt2 fixture's config.json (or `config`) and model.safetensors (or `weights`). */
async function modelFolder(opts: { config?: unknown; configText?: string; weights?: Buffer; family?: string } = {}): Promise<string> {
  const family = opts.family ?? "gpt2";
  const folder = join(dir, `model-${++n}`);
  await mkdir(folder);
  if (opts.configText !== undefined) await writeFile(join(folder, "config.json"), opts.configText);
  else if (opts.config !== undefined) await writeFile(join(folder, "config.json"), JSON.stringify(opts.config));
  else await copyFile(join(FIXTURES, family, "config.json"), join(folder, "config.json"));
  if (opts.weights) await writeFile(join(folder, "model.safetensors"), opts.weights);
  else await copyFile(join(FIXTURES, family, "model.safetensors"), join(folder, "model.safetensors"));
  return folder;
}

/** Runs `load`, expecting an Error naming `file` that matches `pattern`, within 5 s and with little allocation. */
async function refusedQuickly(load: () => Promise<unknown>, file: string, pattern: RegExp, maxBytes = 16 << 20): Promise<void> {
  const before = process.memoryUsage().arrayBuffers;
  const err = await within(5000, `loading ${file}`, rejection(load()));
  const grown = process.memoryUsage().arrayBuffers - before;
  assertNamesFile(err, file, pattern);
  assert.ok(grown < maxBytes, `allocated ${grown} bytes before refusing`);
}

function safetensors(header: unknown, dataLen: number, lengthOverride?: bigint): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(lengthOverride ?? BigInt(json.length));
  return Buffer.concat([prefix, json, Buffer.alloc(dataLen)]);
}

// ------------------------------------------------------------------------------------------------ item 1

test("hostile model.safetensors through from_pretrained: each refusal names the file", async () => {
  const f32 = (shape: number[], offsets: number[]) => ({ dtype: "F32", shape, data_offsets: offsets });
  const cases: [string, Buffer, RegExp][] = [
    ["header length larger than the file", safetensors({ a: f32([1], [0, 4]) }, 4, 1000n), /header length 1000 is larger than the file/],
    ["a huge header length (2^64 - 1)", safetensors({}, 0, 2n ** 64n - 1n), /header length 18446744073709551615 is absurd/],
    ["a huge header length just over the 100 MB limit", safetensors({}, 0, 100_000_001n), /is absurd \(limit 100000000 bytes\)/],
    ["offsets out of range", safetensors({ a: f32([4], [0, 16]) }, 8), /out of range: the data region holds 8 bytes/],
    ["offsets beyond 2^53", safetensors({ a: f32([1], [0, 2 ** 60]) }, 8), /data_offsets must be two non-negative integers|out of range/],
    ["overlapping tensors", safetensors({ a: f32([2], [0, 8]), b: f32([2], [4, 12]) }, 12), /overlap/],
    ["unknown dtype", safetensors({ a: { dtype: "F8_E4M3", shape: [1], data_offsets: [0, 1] } }, 1), /unknown dtype "F8_E4M3"/],
    ["shape disagreeing with the size", safetensors({ a: f32([3, 3], [0, 16]) }, 16), /span 16 bytes but shape \[3, 3\] of F32 needs 36/],
    ["a shape of 2^40 x 2^40 elements", safetensors({ a: f32([2 ** 40, 2 ** 40], [0, 4]) }, 4), /overflows the element count/],
    ["a file shorter than 8 bytes", Buffer.from([1, 2, 3]), /shorter than the 8-byte header length/],
  ];
  for (const [what, weights, pattern] of cases) {
    const folder = await modelFolder({ weights });
    await refusedQuickly(() => AutoModelForCausalLM.fromPretrained(folder), join(folder, "model.safetensors"), pattern).catch((e: Error) => {
      throw new Error(`${what}: ${e.message}`);
    });
  }
});

test("weights whose shapes do not fit the config fail naming the checkpoint and the tensor", async () => {
  // The gpt2 fixture's weights under a config with a wider embedding.
  const config = JSON.parse(await readFile(join(FIXTURES, "gpt2", "config.json"), "utf8"));
  const folder = await modelFolder({ config: { ...config, n_embd: 64, n_head: 4 } });
  const err = await rejection(AutoModelForCausalLM.fromPretrained(folder));
  assertNamesFile(err, folder, /transformer\.wte\.weight|shape/);
});

// ------------------------------------------------------------------------------------------------ item 3

test("config.json with missing, absurd or non-numeric fields fails before allocating, naming the file and field", async () => {
  const gpt2 = JSON.parse(await readFile(join(FIXTURES, "gpt2", "config.json"), "utf8"));
  const distil = JSON.parse(await readFile(join(FIXTURES, "distilbert", "config.json"), "utf8"));
  const llama = JSON.parse(await readFile(join(FIXTURES, "llama", "config.json"), "utf8"));
  const cases: [string, unknown, RegExp, string?][] = [
    ["missing vocab_size (DistilBERT has no default)", { ...distil, vocab_size: undefined }, /config field "vocab_size" is required but missing/, "distilbert"],
    ["negative n_layer", { ...gpt2, n_layer: -2 }, /config field "n_layer" must be at least 1, got -2/],
    ["zero heads", { ...gpt2, n_head: 0 }, /config field "n_head" must be at least 1, got 0/],
    ["vocab of 10^12", { ...gpt2, vocab_size: 1e12 }, /config field "vocab_size" must be at most 10000000, got 1000000000000 \(an absurd size/],
    ["heads not dividing the hidden size", { ...gpt2, n_embd: 30, n_head: 4 }, /config field "n_embd" \(30\) must be divisible by n_head \(4\)/],
    ["a string where a number belongs", { ...gpt2, n_embd: "32" }, /config field "n_embd" must be a number, got "32"/],
    ["a fractional layer count", { ...gpt2, n_layer: 2.5 }, /config field "n_layer" must be an integer, got 2\.5/],
    ["an unknown model_type", { ...gpt2, model_type: "evil" }, /config field "model_type" is "evil", which is not supported/],
    ["kv heads not dividing heads", { ...llama, num_key_value_heads: 3 }, /config field "num_key_value_heads" \(3\) must divide num_attention_heads/, "llama"],
    // Each size within its own bound, but the embedding alone would be 9e6 x 65536 floats (2.4 TB): refused up front.
    ["sizes whose product is absurd", { ...gpt2, vocab_size: 9_000_000, n_embd: 65_536, n_head: 64 }, /token embeddings .* would hold 5\.90e\+11 values/],
    ["a model larger than the machine's memory", { ...gpt2, vocab_size: 1_000_000, n_embd: 4096, n_head: 32, n_layer: 1000, n_positions: 8192 }, /describes a model of about .* billion parameters .* more than this machine's/],
    ["an array instead of an object", [gpt2], /config\.json must hold a JSON object/],
  ];
  for (const [what, config, pattern, family] of cases) {
    const folder = await modelFolder({ config, family });
    const auto = family === "distilbert" ? AutoModelForSequenceClassification : family === "llama" ? AutoModel : AutoModelForCausalLM;
    await refusedQuickly(() => auto.fromPretrained(folder), join(folder, "config.json"), pattern).catch((e: Error) => {
      throw new Error(`${what}: ${e.message}`);
    });
  }
  for (const [what, text] of [["truncated JSON", '{"model_type": "gpt2", "n_embd": 3'], ["not JSON at all", "\u0000\u0001binary"]] as const) {
    const folder = await modelFolder({ configText: text });
    await refusedQuickly(() => AutoModelForCausalLM.fromPretrained(folder), join(folder, "config.json"), /invalid JSON/).catch((e: Error) => {
      throw new Error(`${what}: ${e.message}`);
    });
  }
});

// ------------------------------------------------------------------------------------------------ item 4

test("tokenizer files that do not parse, or have the wrong structure, fail naming the file", async () => {
  const bert = join(DATA, "tokenizers", "bert-base-uncased");
  const json = JSON.parse(await readFile(join(bert, "tokenizer.json"), "utf8"));
  const text = JSON.stringify(json);
  const tokenizerCases: [string, string, RegExp][] = [
    ["truncated tokenizer.json", text.slice(0, 5000), /tokenizer\.json: not valid JSON/],
    ["an array", "[1, 2]", /not a tokenizer\.json \(no "model" object\)/],
    ["no model", JSON.stringify({ ...json, model: undefined }), /no "model" object/],
    ["added_tokens not an array", JSON.stringify({ ...json, added_tokens: { a: 1 } }), /"added_tokens" must be an array/],
    ["a null added token", JSON.stringify({ ...json, added_tokens: [null] }), /added_tokens\[0\] must be an object/],
    ["a vocab with a null entry", JSON.stringify({ ...json, model: { ...json.model, type: "Unigram", vocab: [null] } }), /model\.vocab\[0\] must be a \[token, score\] pair/],
    ["a vocab id that is a string", JSON.stringify({ ...json, model: { ...json.model, vocab: { "[PAD]": "0" } } }), /model\.vocab maps "\[PAD\]" to "0"/],
    ["an unknown model type", JSON.stringify({ ...json, model: { ...json.model, type: "Evil" } }), /the tokenizers library rejected it/],
  ];
  for (const [what, body, pattern] of tokenizerCases) {
    const folder = join(dir, `tok-${++n}`);
    await mkdir(folder);
    await writeFile(join(folder, "tokenizer.json"), body);
    await refusedQuickly(() => AutoTokenizer.fromPretrained(folder), join(folder, "tokenizer.json"), pattern, 64 << 20).catch((e: Error) => {
      throw new Error(`${what}: ${e.message}`);
    });
  }
  const configCases: [string, string, RegExp][] = [
    ["truncated tokenizer_config.json", '{"model_max_length": 5', /tokenizer_config\.json: not valid JSON/],
    ["a negative model_max_length", '{"model_max_length": -1}', /tokenizer_config\.json: model_max_length must be a positive integer, got -1/],
    ["a token that is a number", '{"cls_token": 5}', /tokenizer_config\.json: cls_token: expected a token string/],
    ["padding_side not left/right", '{"padding_side": "up"}', /tokenizer_config\.json: padding_side must be "left" or "right"/],
  ];
  for (const [what, body, pattern] of configCases) {
    const folder = join(dir, `tok-${++n}`);
    await mkdir(folder);
    await writeFile(join(folder, "tokenizer.json"), text);
    await writeFile(join(folder, "tokenizer_config.json"), body);
    await refusedQuickly(() => AutoTokenizer.fromPretrained(folder), join(folder, "tokenizer_config.json"), pattern, 64 << 20).catch((e: Error) => {
      throw new Error(`${what}: ${e.message}`);
    });
  }
  const legacy: [string, Record<string, string>, string, RegExp][] = [
    ["an empty vocab.txt", { "vocab.txt": "" }, "vocab.txt", /empty vocabulary/],
    ["a duplicate token in vocab.txt", { "vocab.txt": "[PAD]\n[UNK]\nhello\nhello\n" }, "vocab.txt", /vocab\.txt:4: duplicate token "hello"/],
    ["vocab.json not an object", { "vocab.json": "[1]", "merges.txt": "#version: 0.2\n" }, "vocab.json", /expected an object mapping each token to an integer id/],
    ["a merges.txt line of three tokens", { "vocab.json": '{"a": 0, "b": 1, "ab": 2}', "merges.txt": "#version: 0.2\na b c\n" }, "merges.txt", /merges\.txt:2: expected two space-separated tokens/],
  ];
  for (const [what, files, named, pattern] of legacy) {
    const folder = join(dir, `tok-${++n}`);
    await mkdir(folder);
    for (const [name, body] of Object.entries(files)) await writeFile(join(folder, name), body);
    await refusedQuickly(() => AutoTokenizer.fromPretrained(folder), join(folder, named), pattern).catch((e: Error) => {
      throw new Error(`${what}: ${e.message}`);
    });
  }
});

test("hostile tokenizer.json: runaway regexes, huge or dangling ids, wrong config types are refused naming the file and field", async () => {
  const bert = join(DATA, "tokenizers", "bert-base-uncased");
  const json = JSON.parse(await readFile(join(bert, "tokenizer.json"), "utf8"));
  const split = (pattern: string) => ({ type: "Split", pattern: { Regex: pattern }, behavior: "Isolated", invert: false });
  const cases: [string, unknown, RegExp][] = [
    // Each of these aborted the process (Oniguruma's retry limit, a Rust panic) on a few thousand characters.
    ["a nested repeat", { ...json, pre_tokenizer: split("(a+)+$") }, /pre_tokenizer\.pattern\.Regex "\(a\+\)\+\$" repeats a group .* exponential/],
    ["overlapping repeats", { ...json, pre_tokenizer: split("a*a*a*$") }, /pre_tokenizer\.pattern\.Regex "a\*a\*a\*\$" .*polynomial/],
    ["a repeated alternation inside a Sequence", { ...json, pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "Whitespace" }, split("(?:\\s|\\s)*x")] } },
      /pre_tokenizer\.pretokenizers\[1\]\.pattern\.Regex .* exponential/],
    ["a Replace normalizer", { ...json, normalizer: { type: "Replace", pattern: { Regex: "\\s*\\s*\\s*!" }, content: " " } }, /normalizer\.pattern\.Regex .*polynomial/],
    ["a chain of options", { ...json, decoder: { type: "Replace", pattern: { Regex: "a?".repeat(20) + "a".repeat(20) }, content: "" } }, /decoder\.pattern\.Regex/],
    ["a huge vocabulary id", { ...json, model: { ...json.model, vocab: { ...json.model.vocab, hello: 2 ** 31 - 5 } } }, /model\.vocab maps "hello" to id 2147483643, out of proportion to the 30527 tokens \(ids must be below 62078\)/],
    ["a huge added-token id", { ...json, added_tokens: [...json.added_tokens, { id: 4e9, content: "<x>", single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }] },
      /added_tokens\[5\] has id 4000000000/],
    ["a post-processor id not in the vocabulary", { ...json, post_processor: { type: "BertProcessing", sep: ["[SEP]", 99999], cls: ["[CLS]", 101] } },
      /post_processor\.sep adds token id 99999, which is not in the vocabulary/],
  ];
  for (const [what, doc, pattern] of cases) {
    const folder = join(dir, `tok-hostile-${++n}`);
    await mkdir(folder);
    await writeFile(join(folder, "tokenizer.json"), JSON.stringify(doc));
    await refusedQuickly(() => AutoTokenizer.fromPretrained(folder), join(folder, "tokenizer.json"), pattern, 64 << 20).catch((e: Error) => {
      throw new Error(`${what}: ${e.message}`);
    });
  }
  const configCases: [string, string, RegExp][] = [
    ["model_max_length a string", '{"model_max_length": "abc"}', /tokenizer_config\.json: model_max_length must be a number, got "abc"/],
    ["clean_up_tokenization_spaces a string", '{"clean_up_tokenization_spaces": "yes"}', /clean_up_tokenization_spaces must be a boolean/],
    ["model_input_names not a list", '{"model_input_names": 5}', /model_input_names must be a list of strings/],
    ["an added_tokens_decoder key that is no id", '{"added_tokens_decoder": {"abc": {"content": "<x>"}}}', /added_tokens_decoder key "abc" is not a token id/],
    ["an added_tokens_decoder id past the bound", '{"added_tokens_decoder": {"99999999": {"content": "<x>"}}}', /added_tokens_decoder key "99999999"/],
    ["a config file over 16 MB", JSON.stringify({ chat_template: "x".repeat(17 << 20) }), /more than the 16777216 a tokenizer file may have/],
  ];
  for (const [what, body, pattern] of configCases) {
    const folder = join(dir, `tok-config-${++n}`);
    await mkdir(folder);
    await copyFile(join(bert, "tokenizer.json"), join(folder, "tokenizer.json"));
    await writeFile(join(folder, "tokenizer_config.json"), body);
    await refusedQuickly(() => AutoTokenizer.fromPretrained(folder), join(folder, "tokenizer_config.json"), pattern, 64 << 20).catch((e: Error) => {
      throw new Error(`${what}: ${e.message}`);
    });
  }
});

test("real pre-tokenizer patterns pass the regex checks and survive texts built to make them backtrack", async () => {
  const json = JSON.parse(await readFile(join(DATA, "tokenizers", "bert-base-uncased", "tokenizer.json"), "utf8"));
  const patterns = [
    // GPT-2, Llama 3 and GPT-4o style splitting (written from their published shapes).
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  ];
  for (const pattern of patterns) {
    const folder = join(dir, `tok-real-${++n}`);
    await mkdir(folder);
    await writeFile(join(folder, "tokenizer.json"), JSON.stringify({ ...json, pre_tokenizer: { type: "Split", pattern: { Regex: pattern }, behavior: "Isolated", invert: false } }));
    const tok = await AutoTokenizer.fromPretrained(folder);
    for (const unit of [" ", "\n", " \n", "A", "a'", "1"]) {
      const ids = await tok.encode(`${unit.repeat(20_000)}x!`, { addSpecialTokens: false });
      assert.ok(ids.length > 0);
    }
  }
});

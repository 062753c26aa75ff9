// Hostile GGUF files given as the model, loaded the way a user would (from_pretrained, AutoTokenizer): each must
// fail with one Error naming the file (and the key or tensor), at once, without allocating what the file claims.
// The byte-level header checks are in test/io/gguf.test.ts.
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { GgufValueType, str, u32, writeGguf, type GgufEntry } from "../../src/io/gguf.js";
import { ggufExport } from "../../src/models/gguf.js";
import { AutoModelForCausalLM } from "../../src/models/index.js";
import { AutoTokenizer } from "../../src/tokenizers/index.js";
import { FIXTURES, assertNamesFile, rejection, tempDir, within } from "./helpers/common.js";

let dir = "";
let cleanup = async () => {};
before(async () => ({ dir, cleanup } = await tempDir("hostile-gguf")));
after(() => cleanup());

let n = 0;
/** The llama fixture as GGUF, with metadata entries replaced (or removed when undefined) and tensors renamed. */
async function gguf(edit: { meta?: Record<string, GgufEntry | undefined>; rename?: [string, string] } = {}): Promise<string> {
  const model = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, "llama"));
  const { metadata, tensors } = ggufExport(model, { dtype: "f32", name: "hostile", tokenizer: [] });
  const meta = new Map(metadata);
  for (const [k, v] of Object.entries(edit.meta ?? {})) {
    if (v === undefined) meta.delete(k);
    else meta.set(k, v);
  }
  if (edit.rename) for (const t of tensors) if (t.name === edit.rename[0]) t.name = edit.rename[1];
  const file = join(dir, `m${++n}.gguf`);
  await writeGguf(file, meta, tensors);
  return file;
}

async function refused(file: string, pattern: RegExp, load: (f: string) => Promise<unknown> = (f) => AutoModelForCausalLM.fromPretrained(f)): Promise<void> {
  const before = process.memoryUsage().arrayBuffers;
  const err = await within(5000, `loading ${file}`, rejection(load(file)));
  assertNamesFile(err, file, pattern);
  assert.equal(err.message.split("\n").length, 1, err.message);
  assert.ok(process.memoryUsage().arrayBuffers - before < 64 << 20, "allocated far more than the file holds");
}

test("hyperparameters past the limits, of the wrong type or missing are refused before the model is built", async () => {
  await refused(await gguf({ meta: { "llama.block_count": u32(2 ** 31) } }), /num_hidden_layers/);
  await refused(await gguf({ meta: { "llama.embedding_length": u32(1 << 20), "llama.feed_forward_length": u32(1 << 22) } }), /hidden_size|too large|parameters/);
  await refused(await gguf({ meta: { "llama.embedding_length": str("32") } }), /llama.embedding_length must be an integer, not a STRING/);
  await refused(await gguf({ meta: { "llama.attention.head_count": undefined } }), /llama.attention.head_count is missing/);
  await refused(await gguf({ meta: { "general.architecture": str("mamba") } }), /general.architecture is "mamba", which is not supported \(supported: gpt2, llama, qwen2/);
  await refused(await gguf({ meta: { "general.architecture": undefined } }), /general.architecture is missing/);
  await refused(await gguf({ meta: { "llama.rope.scaling.type": str("yarn") } }), /llama.rope.scaling.type is "yarn", which is not supported/);
  await refused(await gguf({ meta: { "llama.attention.head_count_kv": u32(3) } }), /num_key_value_heads/);
});

test("tensors that do not fit the model are refused with the file and tensor named", async () => {
  await refused(await gguf({ rename: ["blk.0.attn_q.weight", "blk.0.attn_qq.weight"] }), /tensor "blk.0.attn_qq.weight" has no place in a llama model/);
  await refused(await gguf({ meta: { "llama.feed_forward_length": u32(48) } }), /mlp.gate_proj.weight has shape \[64,32\] in the checkpoint but \[48,32\]/);
  const full = await gguf();
  const bytes = await readFile(full);
  const cut = join(dir, "truncated.gguf");
  await writeFile(cut, bytes.subarray(0, bytes.length - 1000));
  await refused(cut, /out of range: the data region holds/);
});

test("a GGUF without a usable tokenizer says so and points at --tokenizer", async () => {
  const noVocab = await gguf();
  await refused(noVocab, /tokenizer.ggml.model is missing: the file has no tokenizer; pass --tokenizer DIR/, (f) => AutoTokenizer.fromPretrained(f));
  const badPre = await gguf({ meta: {
    "tokenizer.ggml.model": str("gpt2"), "tokenizer.ggml.pre": str("deepseek-coder"),
    "tokenizer.ggml.tokens": { type: GgufValueType.ARRAY, value: { itemType: GgufValueType.STRING, items: ["a", "b", "ab"] } },
    "tokenizer.ggml.merges": { type: GgufValueType.ARRAY, value: { itemType: GgufValueType.STRING, items: ["a b"] } },
  } });
  await refused(badPre, /tokenizer.ggml.pre is "deepseek-coder", a pre-tokenizer not read here/, (f) => AutoTokenizer.fromPretrained(f));
  const badId = await gguf({ meta: {
    "tokenizer.ggml.model": str("gpt2"),
    "tokenizer.ggml.tokens": { type: GgufValueType.ARRAY, value: { itemType: GgufValueType.STRING, items: ["a", "b", "ab"] } },
    "tokenizer.ggml.merges": { type: GgufValueType.ARRAY, value: { itemType: GgufValueType.STRING, items: ["a b"] } },
    "tokenizer.ggml.eos_token_id": u32(70000),
  } });
  await refused(badId, /tokenizer.ggml.eos_token_id \(70000\) is not a token id \(3 tokens\)/, (f) => AutoTokenizer.fromPretrained(f));
});

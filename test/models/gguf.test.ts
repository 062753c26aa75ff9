// Models and tokenizers through GGUF and back (ours -> file -> ours) for every dtype, and the layout llama.cpp's
// converter gives them: tensor names and types, Llama's query/key row order, the hyperparameter keys.
import assert from "node:assert/strict";
import { join } from "node:path";
import { before, test } from "node:test";
import { GGML_TYPE } from "../../src/io/ggml-types.js";
import { GgufMetadata, readGgufHeader, readGgufTensors, writeGguf } from "../../src/io/gguf.js";
import { fromFloat32, toFloat32 } from "../../src/io/raw-tensor.js";
import { ggufExport, readGgufModel, type GgufDtype } from "../../src/models/gguf.js";
import { AutoModelForCausalLM, AutoModel, LlamaForCausalLM, llamaConfig, type PreTrainedModel } from "../../src/models/index.js";
import { tensor } from "../../src/tensor/index.js";
import { AutoTokenizer, type PreTrainedTokenizer } from "../../src/tokenizers/index.js";
import { tokenizerFromGguf, tokenizerToGguf } from "../../src/tokenizers/gguf.js";
import { parseTokenizerJson } from "../../src/tokenizers/tokenizer-json.js";
import { readFile, writeFile } from "node:fs/promises";
import { DATA, FIXTURES } from "../helpers/fixtures.js";
import { scratchDir } from "../helpers/temp-dir.js";

let dir = "";
before(async () => {
  dir = await scratchDir("gguf-models-");
});

type Lm = PreTrainedModel & { forward(x: unknown): { logits: { toFloat32Array(): Float32Array } } };

async function exportTo(model: PreTrainedModel, dtype: GgufDtype, tokenizer: [string, never][] | Awaited<ReturnType<typeof tokenizerToGguf>> = []): Promise<string> {
  const file = join(dir, `${model.constructor.name}-${dtype}-${Math.random().toString(36).slice(2)}.gguf`);
  const { metadata, tensors } = ggufExport(model, { dtype, name: "tiny", tokenizer });
  await writeGguf(file, metadata, tensors);
  return file;
}

/** What a weight becomes in a file of `dtype` (Q8_0 is checked with a bound instead): 1-D tensors and position
 *  embeddings stay f32, as the converter keeps them. */
function stored(key: string, values: Float32Array, shape: number[], dtype: GgufDtype): Float32Array {
  if (dtype !== "f16" || shape.length < 2 || key.endsWith("wpe.weight")) return values;
  return toFloat32(fromFloat32(Float32Array.from(values), [values.length], "F16"));
}

for (const family of ["llama", "gpt2"]) {
  for (const dtype of ["f32", "f16", "q8_0"] as const) {
    test(`${family} fixture -> GGUF ${dtype} -> back: same config, weights within ${dtype} rounding, same logits`, async () => {
      const original = (await AutoModelForCausalLM.fromPretrained(join(FIXTURES, family))) as Lm;
      const file = await exportTo(original, dtype);
      const back = (await AutoModelForCausalLM.fromPretrained(file)) as Lm;
      assert.deepEqual(back.shape(), original.shape());
      const theirs = back.stateDict();
      for (const [key, t] of original.stateDict()) {
        const a = stored(key, t.toFloat32Array(), [...t.shape], dtype), b = theirs.get(key)!.toFloat32Array();
        let worst = 0, scale = 0;
        a.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - b[i]!)); scale = Math.max(scale, Math.abs(v)); });
        // Q8_0: at most half a step (max|block| / 254) plus the fp16 rounding of the step; 1-D tensors stay f32.
        const bound = dtype === "q8_0" && t.shape.length > 1 && !key.endsWith("wpe.weight") ? scale / 127 : 0;
        assert.ok(worst <= bound, `${key}: differs by ${worst} after ${dtype} (allowed ${bound})`);
      }
      const ids = tensor([[1, 5, 9, 200, 7, 3, 3, 42]], { dtype: "int32" });
      const [x, y] = [original.forward({ inputIds: ids }).logits.toFloat32Array(), back.forward({ inputIds: ids }).logits.toFloat32Array()];
      const tol = { f32: 0, f16: 2e-3, q8_0: 6e-2 }[dtype] * Math.max(...x.map(Math.abs));
      x.forEach((v, i) => assert.ok(Math.abs(v - y[i]!) <= tol, `logit ${i}: ${v} vs ${y[i]}`));
    });
  }
}

test("the llama fixture's GGUF has llama.cpp's names, types, shapes and hyperparameters", async () => {
  const model = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, "llama"));
  const file = await exportTo(model, "q8_0");
  const h = readGgufHeader(file);
  const meta = new GgufMetadata(h, file);
  const infos = new Map(h.tensors.map((t) => [t.name, t]));
  // ggml order: ne[0] is the row length; token_embd is [vocab, hidden] in PyTorch order.
  assert.deepEqual(infos.get("token_embd.weight")!.shape, [512, 32]);
  assert.deepEqual(infos.get("blk.1.attn_k.weight")!.shape, [16, 32]);
  assert.deepEqual(infos.get("blk.0.ffn_gate.weight")!.shape, [64, 32]);
  assert.equal(infos.get("blk.0.attn_q.weight")!.type, GGML_TYPE.Q8_0);
  assert.equal(infos.get("blk.0.attn_norm.weight")!.type, GGML_TYPE.F32, "norms stay f32");
  assert.equal(infos.get("output_norm.weight")!.type, GGML_TYPE.F32);
  assert.ok(infos.has("output.weight"), "the fixture's untied lm_head is written");
  assert.equal(h.tensors.length, 3 + 2 * 9);
  assert.equal(meta.string("general.architecture"), "llama");
  assert.equal(meta.number("general.file_type"), 7);
  assert.equal(meta.number("general.quantization_version"), 2);
  const expected: Record<string, number> = {
    "llama.block_count": 2, "llama.context_length": 64, "llama.embedding_length": 32, "llama.feed_forward_length": 64,
    "llama.attention.head_count": 4, "llama.attention.head_count_kv": 2, "llama.rope.freq_base": 50000,
    "llama.attention.layer_norm_rms_epsilon": Math.fround(1e-5), "llama.vocab_size": 512, "llama.rope.dimension_count": 8,
    "llama.attention.key_length": 8, "llama.attention.value_length": 8,
  };
  for (const [k, v] of Object.entries(expected)) assert.equal(meta.number(k), v, k);
  const raw = readGgufModel(file).raw;
  assert.equal(raw.model_type, "llama");
  assert.deepEqual(raw.architectures, ["LlamaForCausalLM"]);
  assert.equal(raw.tie_word_embeddings, false);
});

test("Llama's q_proj / k_proj rows are reordered per head as the converter's permute does; Qwen2's are not", async () => {
  // Two query heads and one key/value head of size 4: row r of q_proj and k_proj holds the value r.
  const rowsOf = async (modelType: "llama" | "qwen2") => {
    const model = new LlamaForCausalLM(llamaConfig({ modelType, vocabSize: 32, hiddenSize: 8, numHiddenLayers: 1, numAttentionHeads: 2, numKeyValueHeads: 1, intermediateSize: 32 }));
    for (const name of ["q_proj", "k_proj"]) {
      const w = model.stateDict().get(`model.layers.0.self_attn.${name}.weight`)!;
      w.data.set(Float32Array.from({ length: w.data.length }, (_, i) => Math.floor(i / 8)));
    }
    const file = await exportTo(model, "f32");
    const rows: Record<string, number[]> = {};
    readGgufTensors(file, readGgufHeader(file), (t, v) => {
      if (/attn_[qk]\.weight$/.test(t.name)) rows[t.name] = Array.from({ length: t.shape[0]! }, (_, r) => v[r * 8]!);
    });
    const back = await AutoModel.fromPretrained(file);
    for (const name of ["q_proj", "k_proj"]) {
      assert.deepEqual(back.stateDict().get(`layers.0.self_attn.${name}.weight`)!.toFloat32Array(), model.stateDict().get(`model.layers.0.self_attn.${name}.weight`)!.toFloat32Array());
    }
    return rows;
  };
  assert.deepEqual(await rowsOf("llama"), { "blk.0.attn_q.weight": [0, 2, 1, 3, 4, 6, 5, 7], "blk.0.attn_k.weight": [0, 2, 1, 3] });
  assert.deepEqual(await rowsOf("qwen2"), { "blk.0.attn_q.weight": [0, 1, 2, 3, 4, 5, 6, 7], "blk.0.attn_k.weight": [0, 1, 2, 3] });
});

async function tokenizerRoundTrip(name: string, vocabSize: number, preTokenizer?: unknown): Promise<{ ours: PreTrainedTokenizer; back: PreTrainedTokenizer; meta: GgufMetadata }> {
  let ours = await AutoTokenizer.fromPretrained(join(DATA, "tokenizers", name));
  const saved = join(dir, `tok-${name}-${Math.random().toString(36).slice(2)}`);
  await ours.savePretrained(saved);
  if (preTokenizer) {
    const text = JSON.parse(await readFile(join(saved, "tokenizer.json"), "utf8"));
    await writeFile(join(saved, "tokenizer.json"), JSON.stringify({ ...text, pre_tokenizer: preTokenizer }));
    ours = await AutoTokenizer.fromPretrained(saved);
  }
  const doc = parseTokenizerJson(await readFile(join(saved, "tokenizer.json"), "utf8"), "tokenizer.json");
  const config = JSON.parse(await readFile(join(saved, "tokenizer_config.json"), "utf8"));
  const entries = await tokenizerToGguf(ours, doc, config, { vocabSize });
  const model = new LlamaForCausalLM(llamaConfig({ vocabSize, hiddenSize: 8, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 32 }));
  const file = await exportTo(model, "f32", entries);
  return { ours, back: await AutoTokenizer.fromPretrained(file), meta: new GgufMetadata(readGgufHeader(file), file) };
}

const TEXTS = ["Hello world! The quick brown fox.", "  spaces, émojis 🦙🚀, numbers 1234567 and 3.14", "line\nbreaks\tand <|endoftext|> tokens", ""];

test("a byte-level BPE tokenizer (GPT-2) -> GGUF -> back encodes and decodes the same", async () => {
  const { ours, back, meta } = await tokenizerRoundTrip("gpt2", 50257);
  assert.equal(meta.string("tokenizer.ggml.model"), "gpt2");
  assert.equal(meta.string("tokenizer.ggml.pre"), "gpt-2");
  assert.equal(meta.strings("tokenizer.ggml.tokens")!.length, 50257);
  assert.equal(meta.strings("tokenizer.ggml.merges")!.length, 50000);
  assert.equal(meta.strings("tokenizer.ggml.merges")![0], "Ġ t");
  assert.equal(meta.numbers("tokenizer.ggml.token_type")![50256], 3, "<|endoftext|> is a control token");
  assert.equal(meta.number("tokenizer.ggml.eos_token_id"), 50256);
  assert.equal(meta.bool("tokenizer.ggml.add_bos_token"), false);
  for (const text of TEXTS) {
    const ids = await ours.encode(text);
    assert.deepEqual(await back.encode(text), ids, text);
    assert.equal(await back.decode(ids), await ours.decode(ids));
  }
  assert.equal(back.eosToken, ours.eosToken);
  assert.equal(back.bosToken, ours.bosToken);
});

const QWEN2 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
for (const [pre, regex] of [["qwen2", QWEN2], ["llama-bpe", QWEN2.replace("|\\p{N}|", "|\\p{N}{1,3}|")]] as const) {
  test(`a byte-level BPE tokenizer split by ${pre}'s regex -> GGUF (pre "${pre}") -> back encodes the same`, async () => {
    const split = { type: "Sequence", pretokenizers: [
      { type: "Split", pattern: { Regex: regex }, behavior: "Isolated", invert: false },
      { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
    ] };
    const { ours, back, meta } = await tokenizerRoundTrip("gpt2", 50257, split);
    assert.equal(meta.string("tokenizer.ggml.pre"), pre);
    for (const text of [...TEXTS, "digits 1234567 and I'VE"]) assert.deepEqual(await back.encode(text), await ours.encode(text), text);
  });
}

test("a SentencePiece BPE tokenizer (phi-3's Llama vocabulary) -> GGUF -> back encodes and decodes the same", async () => {
  const { ours, back, meta } = await tokenizerRoundTrip("phi-3-mini", 32064);
  assert.equal(meta.string("tokenizer.ggml.model"), "llama");
  const types = meta.numbers("tokenizer.ggml.token_type")!;
  const tokens = meta.strings("tokenizer.ggml.tokens")!;
  assert.equal(types[0], 2, "<unk> is the unknown token");
  assert.equal(types[1], 3, "<s> is a control token");
  assert.equal(types[tokens.indexOf("<0x0A>")], 6, "byte tokens");
  assert.equal(tokens[32063], "[PAD32063]", "ids past the tokenizer's are placeholders, as the converter writes");
  assert.equal(types[32063], 5);
  assert.equal(meta.bool("tokenizer.ggml.add_space_prefix"), true);
  assert.equal(meta.bool("tokenizer.ggml.add_bos_token"), false, "phi-3's tokenizer_config turns BOS off");
  assert.match(meta.string("tokenizer.chat_template")!, /<\|assistant\|>/);
  for (const text of TEXTS) {
    const ids = await ours.encode(text);
    assert.deepEqual(await back.encode(text), ids, text);
    assert.equal(await back.decode(ids), await ours.decode(ids));
  }
  const { config } = tokenizerFromGguf(meta);
  assert.equal(config.chat_template, meta.string("tokenizer.chat_template"));
});

test("tokenizer metadata problems are one-line errors naming the file and key", async () => {
  const model = new LlamaForCausalLM(llamaConfig({ vocabSize: 16, hiddenSize: 8, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 32 }));
  const noTokenizer = await exportTo(model, "f32");
  await assert.rejects(AutoTokenizer.fromPretrained(noTokenizer), (e: Error) => e.message.startsWith(`${noTokenizer}: `) && /tokenizer.ggml.model is missing/.test(e.message));
  const bert = await exportTo(model, "f32", [["tokenizer.ggml.model", { type: 8, value: "bert" }]] as never);
  await assert.rejects(AutoTokenizer.fromPretrained(bert), /tokenizer.ggml.model is "bert"; only "gpt2" .* pass --tokenizer DIR/);
});

test("llama-family types without a llama.cpp tensor map (Qwen3, Phi-3) are refused, not exported as a Llama", async () => {
  for (const family of ["qwen3", "phi3"]) {
    const model = await AutoModelForCausalLM.fromPretrained(join(FIXTURES, family));
    assert.throws(() => ggufExport(model, { dtype: "f32", name: "tiny", tokenizer: [] }), new RegExp(`GGUF export of model_type "${family}" is not supported yet`));
  }
});

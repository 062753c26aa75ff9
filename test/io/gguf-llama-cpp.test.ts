// `finetune export --format gguf` checked by llama.cpp itself: the files load in llama.cpp (node-llama-cpp's
// prebuilt CPU build), its next-token logits at every position match ours, and its tokenizer splits text into the
// same ids as the Hugging Face tokenizer the file was written from. Skipped when node-llama-cpp is not installed:
// .ci/run installs it into .cache/llama-cpp (FINETUNE_LLAMA_CPP may name another node-llama-cpp folder).
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { main } from "../../src/cli/main.js";
import { GgufMetadata, readGgufHeader } from "../../src/io/gguf.js";
import { AutoModelForCausalLM, GPT2LMHeadModel, gpt2Config, LlamaForCausalLM, llamaConfig, parseLlamaConfig, type PreTrainedModel } from "../../src/models/index.js";
import { manualSeed, tensor } from "../../src/tensor/index.js";
import { AutoTokenizer } from "../../src/tokenizers/index.js";
import { DATA } from "../helpers/fixtures.js";
import { REPO } from "../cli/tiny-models.js";
import { bundledModelPath } from "../../src/bundled/index.js";
import { scratchDir } from "../helpers/temp-dir.js";

// Qwen2's word-splitting regex (its tokenizer.json's Split pre-tokenizer); on GPT-2's vocabulary here.
const QWEN2_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const LLAMA3_SPLIT = QWEN2_SPLIT.replace("|\\p{N}|", "|\\p{N}{1,3}|");

/** GPT-2's tokenizer with its words split by `regex` first, as Llama 3's and Qwen2's tokenizer.json do. */
async function withSplitRegex(folder: string, regex: string): Promise<string> {
  await (await AutoTokenizer.fromPretrained(join(DATA, "tokenizers/gpt2"))).savePretrained(folder);
  const file = join(folder, "tokenizer.json");
  const doc = JSON.parse(await readFile(file, "utf8"));
  doc.pre_tokenizer = {
    type: "Sequence",
    pretokenizers: [
      { type: "Split", pattern: { Regex: regex }, behavior: "Isolated", invert: false },
      { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  };
  await writeFile(file, JSON.stringify(doc));
  return folder;
}

const NODE_LLAMA_CPP = process.env.FINETUNE_LLAMA_CPP ?? join(REPO, ".cache/llama-cpp/node_modules/node-llama-cpp");
const available = existsSync(join(NODE_LLAMA_CPP, "package.json"));
const TEXTS = [
  "Hello world! The quick brown fox jumps over the lazy dog.",
  "  two leading spaces, émojis 🦙🚀 and numbers 1234567 3.14",
  "line one\nline two\n\ttabbed, it's 'quoted' & <b>markup</b>",
  "I'VE 12345678 digits;   three  spaces\r\n\n  and a trailing space ",
];
// Relative to the largest logit. llama.cpp keeps its attention cache in f16 (even for f32 weights) and multiplies
// q8_0 weights with activations rounded to q8_0, so it is never bit-exact; a misplaced row or a wrong rotary layout
// moves logits by their own size.
const TOLERANCE = { f32: 2e-3, f16: 4e-3, q8_0: 3e-2 } as const;

type Llama = { loadModel(o: { modelPath: string }): Promise<LlamaModelLike> };
interface LlamaModelLike {
  tokenize(text: string, special?: boolean): number[];
  createContext(o: { contextSize: number }): Promise<{ getSequence(): SequenceLike; dispose(): Promise<void> }>;
  dispose(): Promise<void>;
}
interface SequenceLike {
  controlledEvaluate(input: unknown[]): Promise<({ next?: { logits?: Map<number, number> } } | undefined)[]>;
}

describe("GGUF exports run in llama.cpp", { skip: available ? false : `node-llama-cpp not installed at ${NODE_LLAMA_CPP}` }, () => {
  let llama: Llama;
  let dir: string;

  before(async () => {
    const { getLlama } = await import(pathToFileURL(join(NODE_LLAMA_CPP, "dist/index.js")).href);
    llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
    dir = await scratchDir("gguf-llama-cpp-");
  });

  /** tokenizer.ggml.pre of an export. */
  const pre = (name: string) => new GgufMetadata(readGgufHeader(join(dir, `${name}-f32.gguf`)), name).string("tokenizer.ggml.pre");

  /** llama.cpp's logits after each of `ids` (rows of vocab entries). */
  async function llamaCppLogits(file: string, ids: number[], vocab: number): Promise<Float32Array[]> {
    const model = await llama.loadModel({ modelPath: file });
    const context = await model.createContext({ contextSize: 64 });
    const out = await context.getSequence().controlledEvaluate(ids.map((t) => [t, { generateNext: { logits: true } }]));
    const rows = out.map((o) => {
      const row = new Float32Array(vocab);
      for (const [t, v] of o!.next!.logits!) row[t] = v;
      return row;
    });
    await context.dispose();
    await model.dispose();
    return rows;
  }

  /** `reload`: compare with our model loaded back from the file (a file with rope_freqs is not read back). */
  async function check(name: string, model: PreTrainedModel, tokenizerDir: string, dtypes: readonly ("f32" | "f16" | "q8_0")[] = ["f32", "f16", "q8_0"], reload = true): Promise<void> {
    const folder = join(dir, name);
    await model.savePretrained(folder);
    const tokenizer = await AutoTokenizer.fromPretrained(tokenizerDir);
    await tokenizer.savePretrained(folder);
    const ids = (await tokenizer.encode(TEXTS[0]!)).slice(0, 12);
    const vocab = model.shape().vocabSize;
    for (const dtype of dtypes) {
      const file = join(dir, `${name}-${dtype}.gguf`);
      assert.equal(await main(["export", "--model", folder, "--format", "gguf", "--dtype", dtype, "--output", file]), 0);
      // Ours from the same file: the weights llama.cpp has, dequantised.
      const ours = (reload ? await AutoModelForCausalLM.fromPretrained(file) : model) as PreTrainedModel & { forward(x: unknown): { logits: { toFloat32Array(): Float32Array } } };
      const expected = ours.forward({ inputIds: tensor([ids], { dtype: "int32" }) }).logits.toFloat32Array();
      const rows = await llamaCppLogits(file, ids, vocab);
      let worst = 0;
      let scale = 0;
      rows.forEach((row, p) => row.forEach((v, t) => (worst = Math.max(worst, Math.abs(v - expected[p * vocab + t]!)))));
      for (const v of expected) scale = Math.max(scale, Math.abs(v));
      assert.ok(worst < TOLERANCE[dtype] * scale, `${name} ${dtype}: llama.cpp's logits differ from ours by up to ${worst} (largest logit ${scale})`);
      if (dtype !== "f32") continue;
      const loaded = await llama.loadModel({ modelPath: file });
      for (const text of TEXTS) {
        assert.deepEqual(loaded.tokenize(text), await tokenizer.encode(text, { addSpecialTokens: false }), `${name}: llama.cpp tokenizes ${JSON.stringify(text)} differently`);
      }
      await loaded.dispose();
    }
  }

  test("Llama (rotary rows reordered) with a SentencePiece vocabulary (phi-3's)", async () => {
    manualSeed(1);
    const model = new LlamaForCausalLM(llamaConfig({
      vocabSize: 32064, hiddenSize: 64, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 2, intermediateSize: 96, maxPositionEmbeddings: 128, initializerRange: 0.2,
    }));
    await check("llama", model, join(DATA, "tokenizers/phi-3-mini"));
  });

  test("Qwen2 (biases, rotary rows kept) with a byte-level BPE vocabulary split by Qwen2's regex", async () => {
    manualSeed(2);
    const model = new LlamaForCausalLM(llamaConfig({
      modelType: "qwen2", vocabSize: 50257, hiddenSize: 64, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 2, intermediateSize: 96,
      maxPositionEmbeddings: 128, tieWordEmbeddings: true, initializerRange: 0.2,
    }));
    await check("qwen2", model, await withSplitRegex(join(dir, "qwen2-tokenizer"), QWEN2_SPLIT));
    assert.equal(pre("qwen2"), "qwen2");
  });

  test("Llama 3's rope scaling, written as the converter's rope_freqs tensor", async () => {
    manualSeed(5);
    // Short wavelengths: with an original context of 16, most of head_dim 16's frequencies are scaled or blended.
    const base = llamaConfig({ vocabSize: 32064, hiddenSize: 32, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 32, maxPositionEmbeddings: 128, initializerRange: 0.2 });
    const model = new LlamaForCausalLM(parseLlamaConfig({
      ...base.raw, rope_scaling: { rope_type: "llama3", factor: 4, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 },
    }, "<llama3 rope>"));
    await check("llama3-rope", model, join(DATA, "tokenizers/phi-3-mini"), ["f32"], false);
  });

  test("Llama 3's word-splitting regex (llama-bpe) on a byte-level vocabulary", async () => {
    manualSeed(4);
    const model = new LlamaForCausalLM(llamaConfig({
      vocabSize: 50257, hiddenSize: 16, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 32, maxPositionEmbeddings: 128, initializerRange: 0.2,
    }));
    await check("llama-bpe", model, await withSplitRegex(join(dir, "llama-bpe-tokenizer"), LLAMA3_SPLIT), ["f32"]);
    assert.equal(pre("llama-bpe"), "llama-bpe");
  });

  test("the bundled causal LM (assets/tiny-lm): its weights, byte-level tokenizer, ChatML tokens and template", async () => {
    const folder = bundledModelPath("bundled-lm");
    const model = await AutoModelForCausalLM.fromPretrained(folder);
    await check("bundled-lm", model, folder, ["f16"]);
    const file = join(dir, "bundled-lm-f16.gguf");
    const meta = new GgufMetadata(readGgufHeader(file), file);
    const tokenizer = await AutoTokenizer.fromPretrained(folder);
    assert.equal(meta.string("tokenizer.chat_template"), tokenizer.chatTemplate);
    // A chat prompt as `finetune chat` builds it: llama.cpp must read <|im_start|> / <|im_end|> as single tokens.
    const prompt = tokenizer.applyChatTemplate([{ role: "user", content: "Is this review positive? I loved it." }], { addGenerationPrompt: true, tokenize: false });
    const loaded = await llama.loadModel({ modelPath: file });
    assert.deepEqual(loaded.tokenize(prompt, true), await tokenizer.encode(prompt, { addSpecialTokens: false }));
    await loaded.dispose();
  });

  test("GPT-2 (transposed Conv1D weights, learned positions)", async () => {
    manualSeed(3);
    await check("gpt2", new GPT2LMHeadModel(gpt2Config({ nEmbd: 64, nLayer: 2, nHead: 4, nPositions: 128, initializerRange: 0.2 })), join(DATA, "tokenizers/gpt2"));
    assert.equal(pre("gpt2"), "gpt-2");
  });
});

// Tiny randomly initialised models saved as Hugging Face folders, with the REAL tokenizers' files, and a
// runner for the CLI as users run it (a separate node process, exit code and both streams).
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DistilBertForSequenceClassification, GPT2LMHeadModel, LlamaForCausalLM, distilBertConfig, gpt2Config, llamaConfig } from "../../src/models/index.js";
import { manualSeed } from "../../src/tensor/index.js";
import { AutoTokenizer } from "../../src/tokenizers/index.js";
import { UCI_SENTIMENT } from "../helpers/fixtures.js";

export const REPO = fileURLToPath(new URL("../..", import.meta.url));
export const DATA = fileURLToPath(new URL("../data", import.meta.url));
export const UCI = UCI_SENTIMENT;
export const SHAKESPEARE = join(DATA, "lm/tiny_shakespeare");

const created: string[] = [];

export async function tempDir(prefix = "finetune-cli-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** Deletes every folder tempDir made in this process (register with `after`). */
export async function removeTempDirs(): Promise<void> {
  await Promise.all(created.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

/** DistilBERT with dim 32, 2 layers, 4 heads, FFN 64 and bert-base-uncased's 30,522-token vocabulary. */
export async function tinyDistilBertDir(): Promise<string> {
  manualSeed(0);
  const dir = await tempDir("tiny-distilbert-");
  const model = new DistilBertForSequenceClassification(distilBertConfig({
    vocabSize: 30522, dim: 32, nLayers: 2, nHeads: 4, hiddenDim: 64, maxPositionEmbeddings: 128, numLabels: 2,
  }));
  await model.savePretrained(dir);
  await (await AutoTokenizer.fromPretrained(join(DATA, "tokenizers/bert-base-uncased"))).savePretrained(dir);
  return dir;
}

/** GPT-2 with width 32, 2 layers, 4 heads and the real 50,257-token GPT-2 vocabulary. */
export async function tinyGpt2Dir(): Promise<string> {
  manualSeed(0);
  const dir = await tempDir("tiny-gpt2-");
  await new GPT2LMHeadModel(gpt2Config({ nEmbd: 32, nLayer: 2, nHead: 4, nPositions: 128 })).savePretrained(dir);
  await (await AutoTokenizer.fromPretrained(join(DATA, "tokenizers/gpt2"))).savePretrained(dir);
  return dir;
}

/** Llama with width 32, 2 layers, 4 query and 2 key/value heads and the real Phi-3-mini tokenizer (32,064 tokens,
 *  its own chat template): a chat model's layout at a test's size. */
export async function tinyChatLlamaDir(): Promise<string> {
  manualSeed(0);
  const dir = await tempDir("tiny-chat-llama-");
  const config = llamaConfig({ vocabSize: 32064, hiddenSize: 32, intermediateSize: 64, numHiddenLayers: 2, numAttentionHeads: 4,
    numKeyValueHeads: 2, maxPositionEmbeddings: 256, eosTokenId: 32000 });
  await new LlamaForCausalLM(config).savePretrained(dir);
  await (await AutoTokenizer.fromPretrained(join(DATA, "tokenizers/phi-3-mini"))).savePretrained(dir);
  return dir;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `finetune ...args` in a child process from the repository root; `input` is piped to stdin. */
export function cli(args: string[], input = "", env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", join(REPO, "src/cli/bin.ts"), ...args], {
      cwd: REPO, env: { ...process.env, FINETUNE_DEBUG: "", ...env },
    });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d: Buffer) => { stdout += d; });
    child.stderr.on("data", (d: Buffer) => { stderr += d; });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}

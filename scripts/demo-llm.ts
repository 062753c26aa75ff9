// `npm run demo:llm`: the LLM half of finetune-ts, offline. LoRA-tunes the bundled causal LM (assets/tiny-lm) on
// the bundled instruction task (bundled:sentiment-chat) and shows what changed on reviews no run trains on: the
// base and tuned answers to a few of them, and over the whole held-out split the completion loss (the assistant's
// answer tokens only, as training scores them) and the share of exactly right answers.
//
//   node --import tsx scripts/demo-llm.ts [--steps N] [--train-rows N] [--held-out-rows N] [--output DIR] [-- TRAIN FLAGS]
import { join } from "node:path";
import { parseArgs } from "node:util";
import { main } from "../src/cli/main.js";
import { evaluateLm, exactMatch, tokenizeLm } from "../src/cli/pipeline/lm.js";
import { chatReply } from "../src/cli/pipeline/generation.js";
import { loadOutput, type LoadedOutput } from "../src/cli/pipeline/trained.js";
import { splitDataset, type JsonRecord } from "../src/data/index.js";
import { packageRoot } from "../src/bundled/bundled-model.js";
import { bundledTask, type Conversation } from "../src/bundled/tasks.js";

export const DEMO_TASK = "bundled:sentiment-chat";
const MAX_LENGTH = 128;
/** LoRA on every projection of the blocks, at a high rate: on a checkpoint of this model, 80 steps on the family's
 *  default targets (q_proj, v_proj) left the held-out completion loss at 3.0 and no exact answer, on all seven
 *  at 5e-3 at 2.07 with the answer's form learned (measured; see assets/tiny-lm/README.md). */
export const DEMO_TRAIN_FLAGS = ["--target-modules", "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj", "--lr", "5e-3"];
/** "positive" / "negative" and the end of the turn fit in a few tokens; more would only show rambling. */
const ANSWER_TOKENS = 6;

export interface DemoLlmOptions {
  /** The base model (default bundled-lm). */
  model?: string;
  /** LoRA optimizer steps. */
  steps: number;
  output: string;
  /** Train on a sample of this many training conversations (default all). */
  trainRows?: number;
  /** Score on a sample of this many test conversations (default all). */
  heldOutRows?: number;
  /** Held-out questions whose answers are shown. */
  shown?: number;
  /** `finetune train` flags after DEMO_TRAIN_FLAGS (later flags win). */
  trainFlags?: string[];
}

export interface Scores {
  /** Completion loss on the held-out conversations. */
  heldOutLoss: number;
  exactMatch: number;
  /** Completion loss on the conversations trained on (as many as are held out, when there are more). */
  trainLoss: number;
}

export interface DemoLlmResult {
  base: Scores;
  tuned: Scores;
  answers: { review: string; reference: string; base: string; tuned: string }[];
  heldOutRows: number;
  /** Training conversations scored. */
  trainRows: number;
}

/** The same sample `finetune train --max-rows` draws, so "the conversations trained on" are those. */
function sampled(rows: Conversation[], n: number | undefined): JsonRecord[] {
  if (n === undefined || n >= rows.length) return rows;
  return splitDataset<JsonRecord>(rows, { test: n, seed: 42 }).test!;
}

async function score(loaded: LoadedOutput, train: JsonRecord[], heldOut: JsonRecord[]): Promise<Scores> {
  const lm = { model: loaded.model!, tokenizer: loaded.tokenizer };
  const loss = async (rows: JsonRecord[]) => (await evaluateLm(lm.model, lm.tokenizer, await tokenizeLm(lm.tokenizer, rows, MAX_LENGTH, {}, "demo:llm"), 32)).loss!;
  const em = await exactMatch(lm.model, lm.tokenizer, heldOut, { marker: "", maxNewTokens: ANSWER_TOKENS });
  return { heldOutLoss: await loss(heldOut), exactMatch: em.exact_match!, trainLoss: await loss(train) };
}

async function answers(loaded: LoadedOutput, rows: Conversation[]): Promise<string[]> {
  const out: string[] = [];
  for (const r of rows) out.push((await chatReply(loaded.model!, loaded.tokenizer, r.messages.slice(0, -1), { maxNewTokens: ANSWER_TOKENS })).text);
  return out;
}

export async function demoLlm(o: DemoLlmOptions): Promise<DemoLlmResult> {
  const task = bundledTask(DEMO_TASK, "causal-lm");
  const heldOut = sampled(task.test, o.heldOutRows);
  const train = sampled(sampled(task.train, o.trainRows) as Conversation[], heldOut.length);
  // The first held-out reviews of each answer, as many of one as of the other.
  const half = Math.ceil((o.shown ?? 6) / 2);
  const shown = ["positive", "negative"].flatMap((a) => task.test.filter((r) => r.messages[1]!.content === a).slice(0, half));
  const load = (ref: string) => loadOutput(ref, { batchSize: 32, hub: {} });

  const model = o.model ?? "bundled-lm";
  const base = await load(model);
  const baseScores = await score(base, train, heldOut);
  const baseAnswers = await answers(base, shown);

  const code = await main(["train", "--model", model, "--dataset", DEMO_TASK, "--method", "lora", "--max-steps", String(o.steps),
    "--max-length", String(MAX_LENGTH), ...(o.trainRows === undefined ? [] : ["--max-rows", String(o.trainRows)]),
    ...DEMO_TRAIN_FLAGS, ...(o.trainFlags ?? []), "--output", o.output]);
  if (code !== 0) throw new Error(`finetune train exited with ${code}`);
  const tuned = await load(o.output);
  const tunedScores = await score(tuned, train, heldOut);
  const tunedAnswers = await answers(tuned, shown);
  return {
    base: baseScores, tuned: tunedScores, heldOutRows: heldOut.length, trainRows: train.length,
    answers: shown.map((r, i) => ({ review: r.messages[0]!.content.split("\n").slice(1).join(" "), reference: r.messages[1]!.content, base: baseAnswers[i]!, tuned: tunedAnswers[i]! })),
  };
}

export function report(r: DemoLlmResult): string {
  const cell = (s: string) => JSON.stringify(s).slice(1, -1).replaceAll("|", "\\|");
  return [
    `| | held-out completion loss (${r.heldOutRows} reviews) | held-out exact match | train completion loss (${r.trainRows}) |`,
    "| --- | ---: | ---: | ---: |",
    ...(["base", "tuned"] as const).map((k) => `| ${k} | ${r[k].heldOutLoss.toFixed(3)} | ${(100 * r[k].exactMatch).toFixed(1)}% | ${r[k].trainLoss.toFixed(3)} |`),
    "",
    "| held-out review | reference | base answer | tuned answer |",
    "| --- | --- | --- | --- |",
    ...r.answers.map((a) => `| ${cell(a.review)} | ${a.reference} | ${cell(a.base)} | ${cell(a.tuned)} |`),
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values: v, positionals: trainFlags } = parseArgs({ allowPositionals: true, options: {
    model: { type: "string" }, steps: { type: "string", default: "100" }, "train-rows": { type: "string" }, "held-out-rows": { type: "string" },
    output: { type: "string", default: join(packageRoot(), "runs", "demo-llm") },
  } });
  const num = (s: string | undefined) => (s === undefined ? undefined : Number(s));
  const result = await demoLlm({ model: v.model, steps: Number(v.steps), trainRows: num(v["train-rows"]), heldOutRows: num(v["held-out-rows"]), output: v.output!, trainFlags });
  console.log(`\n${report(result)}`);
}

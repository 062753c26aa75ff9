import { booleanFlag, flagHelp, numberFlag } from "../args.js";
import { UsageError, type Command } from "../command.js";
import { configFlag, parseWithConfig } from "../config-file.js";
import { hubOptions, loadFlags } from "../flags.js";
import { noteOnce } from "../output.js";
import { generateText } from "../pipeline/generation.js";
import { loadOutput } from "../pipeline/trained.js";
import { readStdinLines } from "../stdin.js";

const { batchSize: _, maxLength: __, ...modelLoadFlags } = loadFlags;

const flags = {
  ...modelLoadFlags,
  maxNewTokens: numberFlag("tokens to generate (default 50)", { integer: true, min: 0 }),
  doSample: booleanFlag("sample instead of taking the most likely token"),
  temperature: numberFlag("sampling: divide the logits by T (default 1)", { arg: "T", min: 0 }),
  topK: numberFlag("sampling: keep the K most likely tokens, 0 for all (default 50)", { arg: "K", integer: true, min: 0 }),
  topP: numberFlag("sampling: keep the most likely tokens up to probability P (default 1)", { arg: "P", min: 0, max: 1 }),
  seed: numberFlag("sampling seed", { integer: true }),
  json: booleanFlag("print one JSON object per prompt: prompt, completion"),
  config: configFlag,
};

export const generate: Command = {
  name: "generate",
  summary: "continue prompts with a causal LM, optionally with a trained adapter",
  help: `Usage: finetune generate --model DIR|ID [--adapter DIR] [PROMPT ...] [options]

Greedy decoding by default; --do-sample samples with --temperature, --top-k and --top-p. Each argument
is one prompt (or one per line on stdin); the prompt is printed followed by its continuation. --model
takes a causal LM folder or hub id, a fully fine-tuned or merged output, or an adapter folder.

Options:
${flagHelp(flags)}

Examples:
  finetune generate --model gpt2 "The meaning of life is"
  finetune generate --model gpt2 --adapter runs/gpt2-lora --max-new-tokens 80 "Question: what is 12 * 7?"
  finetune generate --model runs/gpt2-prefix --do-sample --temperature 0.8 --top-p 0.95 --seed 1 "ROMEO:"`,

  async run(argv) {
    const { values: v, positionals } = await parseWithConfig(argv, flags, { positionals: true });
    if (!v.model) throw new UsageError("--model is required (a causal LM folder, hub id, or adapter folder)");
    const prompts = positionals.length ? positionals : await readStdinLines();
    if (prompts.length === 0) throw new UsageError("no prompt: give it as an argument or on stdin");
    const loaded = await loadOutput(v.model, { ...v, batchSize: 1, hub: hubOptions(v), onWarning: noteOnce() });
    if (loaded.task !== "causal-lm") throw new UsageError(`${v.model} is a classifier; use finetune predict`);
    const opts = { maxNewTokens: v.maxNewTokens ?? 50, doSample: v.doSample, temperature: v.temperature, topK: v.topK, topP: v.topP, seed: v.seed };
    for (const prompt of prompts) {
      const completion = await generateText(loaded.model!, loaded.tokenizer, prompt, opts);
      console.log(v.json ? JSON.stringify({ prompt, completion }) : `${prompt}${completion}`);
    }
  },
};

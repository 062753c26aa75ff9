import { booleanFlag, flagHelp } from "../args.js";
import { UsageError, type Command } from "../command.js";
import { configFlag, parseWithConfig } from "../config-file.js";
import { generationFlags, generationOptions, hubOptions, loadFlags } from "../flags.js";
import { noteOnce } from "../output.js";
import { generateText } from "../pipeline/generation.js";
import { loadOutput } from "../pipeline/trained.js";
import { readStdinLines } from "../stdin.js";

const { batchSize: _, maxLength: __, ...modelLoadFlags } = loadFlags;

const flags = {
  ...modelLoadFlags,
  ...generationFlags,
  json: booleanFlag("print one JSON object per prompt: prompt, completion, tokens, finish (eos, stop or length)"),
  config: configFlag,
};

export const generate: Command = {
  name: "generate",
  summary: "continue prompts with a causal LM, optionally with a trained adapter",
  help: `Usage: finetune generate --model DIR|ID [--adapter DIR] [PROMPT ...] [options]

Greedy decoding by default; --do-sample samples with --temperature, --top-k, --top-p and --min-p, and
--repetition-penalty applies to both. Each argument is one prompt (or one per line on stdin); the prompt is
printed followed by its continuation, streamed as it is generated. Generation ends at the model's eos
token, at one of the --stop strings, or after --max-new-tokens. --model takes a causal LM folder or hub id,
a fully fine-tuned or merged output, or an adapter folder. For instruction-tuned models use finetune chat,
which applies the chat template.

Options:
${flagHelp(flags)}

Examples:
  finetune generate --model gpt2 "The meaning of life is"
  finetune generate --model gpt2 --adapter runs/gpt2-lora --max-new-tokens 80 "Question: what is 12 * 7?"
  finetune generate --model runs/gpt2-prefix --do-sample --temperature 0.8 --top-p 0.95 --seed 1 "ROMEO:"
  finetune generate --model runs/gpt2-lora --stop "\\n\\n" --repetition-penalty 1.2 --json < prompts.txt`,

  async run(argv) {
    const { values: v, positionals } = await parseWithConfig(argv, flags, { positionals: true });
    if (!v.model) throw new UsageError("--model is required (a causal LM folder, hub id, or adapter folder)");
    const prompts = positionals.length ? positionals : await readStdinLines();
    if (prompts.length === 0) throw new UsageError("no prompt: give it as an argument or on stdin");
    const loaded = await loadOutput(v.model, { ...v, batchSize: 1, hub: hubOptions(v), onWarning: noteOnce() });
    if (loaded.task !== "causal-lm") throw new UsageError(`${v.model} is a classifier; use finetune predict`);
    const opts = generationOptions(v, 50);
    for (const prompt of prompts) {
      if (v.json) {
        const out = await generateText(loaded.model!, loaded.tokenizer, prompt, opts);
        console.log(JSON.stringify({ prompt, completion: out.text, tokens: out.tokens, finish: out.finish }));
      } else {
        process.stdout.write(prompt);
        await generateText(loaded.model!, loaded.tokenizer, prompt, { ...opts, onText: (t) => process.stdout.write(t) });
        process.stdout.write("\n");
      }
    }
  },
};

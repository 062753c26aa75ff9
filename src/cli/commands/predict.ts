import { readRecords } from "../../data/index.js";
import { booleanFlag, flagHelp, stringFlag } from "../args.js";
import { UsageError, type Command } from "../command.js";
import { configFlag, parseWithConfig } from "../config-file.js";
import { hubOptions, loadFlags, maxRecordCharsFlag } from "../flags.js";
import { noteOnce } from "../output.js";
import { argmaxRow, type TextInput } from "../pipeline/classifier.js";
import { loadOutput } from "../pipeline/trained.js";
import { readStdinLines } from "../stdin.js";

const flags = {
  ...loadFlags,
  file: stringFlag("read texts from a file (.jsonl, .json, .csv, .tsv or .parquet)", { arg: "FILE" }),
  textColumn: stringFlag("with --file: the text column (default text)", { arg: "NAME" }),
  textPairColumn: stringFlag("with --file: a second text column, for pair classifiers", { arg: "NAME" }),
  ...maxRecordCharsFlag,
  json: booleanFlag("print one JSON object per text: text, label, score, probabilities"),
  config: configFlag,
};

export const predict: Command = {
  name: "predict",
  summary: "classify texts with a trained model, adapter or feature-based output",
  help: `Usage: finetune predict --model DIR|ID [TEXT ...] [--file FILE] [--json] [options]

Prints the predicted label, its probability and every class's probability for each text. Texts come
from the arguments, from --file, or one per line on stdin. --model takes what \`finetune train\` wrote
(any method), a transformers classifier folder or hub id, or a PEFT adapter folder (base model from
adapter_config.json or --base-model).

Options:
${flagHelp(flags)}

Examples:
  finetune predict --model runs/lora "a wonderful little film" "two hours I will never get back"
  finetune predict --model runs/feature --file data/test.jsonl --json > predictions.jsonl
  cat reviews.txt | finetune predict --model runs/full
  finetune predict --model distilbert-base-uncased --adapter runs/ia3 "great battery life"`,

  async run(argv) {
    const { values: v, positionals } = await parseWithConfig(argv, flags, { positionals: true });
    if (!v.model) throw new UsageError("--model is required (a trained output folder, model or adapter)");
    const rows = await inputs(positionals, v.file, v.textColumn ?? "text", v.textPairColumn, v.maxRecordChars);
    const loaded = await loadOutput(v.model, { ...v, batchSize: v.batchSize ?? 32, hub: hubOptions(v), onWarning: noteOnce() });
    if (!loaded.classifier) throw new UsageError(`${v.model} is a causal language model; use finetune generate`);
    const { labelNames } = loaded.classifier;
    const probs = await loaded.classifier.predictProba(rows);
    rows.forEach((row, i) => {
      const p = probs[i], best = argmaxRow(p);
      if (v.json) {
        const probabilities = Object.fromEntries(labelNames.map((n, j) => [n, round(p[j])]));
        console.log(JSON.stringify({ ...row, label: labelNames[best], score: round(p[best]), probabilities }));
      } else {
        console.log(`${labelNames[best]}\t${p[best].toFixed(4)}\t${labelNames.map((n, j) => `${n}=${p[j].toFixed(4)}`).join(" ")}\t${row.text}`);
      }
    });
  },
};

async function inputs(args: string[], file: string | undefined, textColumn: string, pairColumn: string | undefined, maxRecordChars: number | undefined): Promise<TextInput[]> {
  if (file !== undefined) {
    if (args.length) throw new UsageError("give texts as arguments or --file, not both");
    return (await readRecords(file, { maxRecordChars })).map((r, i) => {
      const text = r[textColumn], pair = pairColumn === undefined ? undefined : r[pairColumn];
      if (typeof text !== "string") throw new UsageError(`${file}: record ${i + 1} has no text column "${textColumn}" (set --text-column)`);
      if (pairColumn !== undefined && typeof pair !== "string") throw new UsageError(`${file}: record ${i + 1} has no text column "${pairColumn}"`);
      return pair === undefined ? { text } : { text, textPair: pair as string };
    });
  }
  const texts = args.length ? args : await readStdinLines();
  if (texts.length === 0) throw new UsageError("no texts: give them as arguments, with --file, or one per line on stdin");
  return texts.map((text) => ({ text }));
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

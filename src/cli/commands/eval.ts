import { booleanFlag, flagHelp, stringFlag } from "../args.js";
import { UsageError, type Command } from "../command.js";
import { configFlag, parseWithConfig } from "../config-file.js";
import { columnFlags, hubOptions, loadFlags } from "../flags.js";
import { info, metricsLine, noteOnce } from "../output.js";
import { evaluateClassifier } from "../pipeline/classifier.js";
import { loadClassificationFile, loadLmFile } from "../pipeline/data.js";
import { evaluateLm, tokenizeLm } from "../pipeline/lm.js";
import { loadOutput } from "../pipeline/trained.js";

const flags = {
  ...loadFlags,
  data: stringFlag("labelled file to score (.jsonl, .json, .csv, .tsv or .parquet)", { arg: "FILE" }),
  ...columnFlags,
  json: booleanFlag("print the metrics as one JSON object"),
  config: configFlag,
};

export const evaluate: Command = {
  name: "eval",
  summary: "score a trained model, adapter or feature-based output on a labelled file",
  help: `Usage: finetune eval --model DIR|ID --data FILE [--json] [options]

Classifiers: accuracy, macro precision / recall / F1 and cross-entropy loss. Causal LMs: loss and
perplexity per token. --model takes what \`finetune train\` wrote (any method), a transformers model
folder or hub id, or a PEFT adapter folder (its base model comes from adapter_config.json or --base-model).
Labels in the file are class names of the model or class ids.

Options:
${flagHelp(flags)}

Examples:
  finetune eval --model runs/lora --data data/test.jsonl
  finetune eval --model runs/feature --data data/test.jsonl --json
  finetune eval --model distilbert-base-uncased --adapter runs/lora --data test.csv --text-column review
  finetune eval --model runs/gpt2-prefix --data lm/validation.jsonl`,

  async run(argv) {
    const { values: v } = await parseWithConfig(argv, flags);
    if (!v.model) throw new UsageError("--model is required (a trained output folder, model or adapter)");
    if (!v.data) throw new UsageError("--data is required (the labelled file to score)");
    const batchSize = v.batchSize ?? 32;
    const loaded = await loadOutput(v.model, { ...v, batchSize, hub: hubOptions(v), onWarning: noteOnce() });
    const metrics = loaded.classifier
      ? await evaluateClassifier(loaded.classifier, await loadClassificationFile(v.data, v, loaded.classifier.labelNames))
      : await evaluateLm(loaded.model!, loaded.tokenizer, await tokenizeLm(loaded.tokenizer, await loadLmFile(v.data, v), loaded.maxLength, v), batchSize);
    if (v.json) console.log(JSON.stringify(metrics));
    else {
      info(`${loaded.kind} (${loaded.task}) on ${v.data}`);
      console.log(metricsLine(metrics));
    }
  },
};

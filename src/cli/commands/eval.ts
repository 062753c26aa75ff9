import { booleanFlag, choiceFlag, flagHelp, numberFlag, stringFlag } from "../args.js";
import { UsageError, type Command } from "../command.js";
import { configFlag, parseWithConfig } from "../config-file.js";
import { chatTemplateFlag, columnFlags, hubOptions, loadFlags } from "../flags.js";
import { info, metricsLine, noteOnce } from "../output.js";
import { evaluateClassifier } from "../pipeline/classifier.js";
import { loadClassificationFile, loadLmFile } from "../pipeline/data.js";
import { evaluateLm, exactMatch, tokenizeLm, useChatTemplateFile } from "../pipeline/lm.js";
import { loadOutput } from "../pipeline/trained.js";

const flags = {
  ...loadFlags,
  data: stringFlag("labelled file to score (.jsonl, .json, .csv, .tsv or .parquet), or bundled:<task> for a bundled task's test split", { arg: "FILE" }),
  ...columnFlags,
  ...chatTemplateFlag,
  metric: choiceFlag("causal-lm: also exact-match, the share of greedy answers equal to the reference", ["exact-match"] as const, { arg: "M" }),
  answerMarker: stringFlag('exact-match: compare what follows the last occurrence of this marker (default "####"; none compares whole texts)', { arg: "TEXT" }),
  maxNewTokens: numberFlag("exact-match: tokens to generate at most per answer (default 256)", { integer: true, min: 1 }),
  json: booleanFlag("print the metrics as one JSON object"),
  config: configFlag,
};

export const evaluate: Command = {
  name: "eval",
  summary: "score a trained model, adapter or feature-based output on a labelled file",
  help: `Usage: finetune eval --model DIR|ID --data FILE [--json] [options]

Classifiers: accuracy, macro precision / recall / F1 and cross-entropy loss. Causal LMs: loss and
perplexity per token of what training learns (completions, assistant turns of conversations); with
--metric exact-match also the share of rows whose greedy answer (a conversation's last assistant turn, a
row's completion) equals the reference once both are cut after --answer-marker, to their first line.
--model takes what \`finetune train\` wrote (any method), a transformers model
folder or hub id, or a PEFT adapter folder (its base model comes from adapter_config.json or --base-model).
Labels in the file are class names of the model or class ids.

Options:
${flagHelp(flags)}

Examples:
  finetune eval --model runs/lora --data data/test.jsonl
  finetune eval --model runs/feature --data data/test.jsonl --json
  finetune eval --model distilbert-base-uncased --adapter runs/lora --data test.csv --text-column review
  finetune eval --model runs/gpt2-prefix --data lm/validation.jsonl
  finetune eval --model runs/chat-lora --data gsm8k-chat.jsonl --metric exact-match --answer-marker "####"
  finetune eval --model runs/bundled-lm-lora --data bundled:sentiment-chat --metric exact-match --max-new-tokens 8`,

  async run(argv) {
    const { values: v } = await parseWithConfig(argv, flags);
    if (!v.model) throw new UsageError("--model is required (a trained output folder, model or adapter)");
    if (!v.data) throw new UsageError("--data is required (the labelled file to score)");
    const batchSize = v.batchSize ?? 32;
    const loaded = await loadOutput(v.model, { ...v, batchSize, hub: hubOptions(v), onWarning: noteOnce() });
    if (loaded.classifier && v.metric) throw new UsageError(`--metric ${v.metric} scores generated answers; ${v.model} is a classifier`);
    await useChatTemplateFile(loaded.tokenizer, v.chatTemplate);
    let metrics;
    if (loaded.classifier) metrics = await evaluateClassifier(loaded.classifier, await loadClassificationFile(v.data, v, loaded.classifier.labelNames));
    else {
      const rows = await loadLmFile(v.data, v);
      metrics = await evaluateLm(loaded.model!, loaded.tokenizer, await tokenizeLm(loaded.tokenizer, rows, loaded.maxLength, v, v.data), batchSize);
      if (v.metric === "exact-match") {
        Object.assign(metrics, await exactMatch(loaded.model!, loaded.tokenizer, rows, { ...v, marker: v.answerMarker === "none" ? "" : (v.answerMarker ?? "####"), maxNewTokens: v.maxNewTokens ?? 256 }));
      }
    }
    if (v.json) console.log(JSON.stringify(metrics));
    else {
      info(`${loaded.kind} (${loaded.task}) on ${v.data}`);
      console.log(metricsLine(metrics));
    }
  },
};

import { isAbsolute } from "node:path";
import { formatBytes, formatSeconds } from "../../report/format.js";
import { booleanFlag, choiceFlag, flagHelp } from "../args.js";
import { UsageError, type Command } from "../command.js";
import { parseWithConfig } from "../config-file.js";
import { hubOptions, hyperparameters, instructionFlags, methodOptions, overwriteFlag, runFlags } from "../flags.js";
import { cliPeftMethods, methodInfo, methodNames, type MethodInfo, type MethodName } from "../methods.js";
import { info, metricsLine, noteOnce } from "../output.js";
import { describeSplits, loadData, type TaskData } from "../pipeline/data.js";
import { runFineTune, type RunResult } from "../pipeline/fine-tune.js";
import { prepareOutput } from "../pipeline/output-dir.js";
import { checkResumedData, readRunRecord, recordNewRun, resumedFlags, rowsDigest } from "../pipeline/run-record.js";
import { useChatTemplateFile } from "../pipeline/lm.js";
import { detectTask, loadTokenizer, modelRef } from "../pipeline/sources.js";

/** Built when used: the methods and their options are the ones registered by then. */
function trainFlags() {
  return {
    ...runFlags(),
    ...instructionFlags,
    method: choiceFlag(`one of ${methodNames().join(", ")}`, methodNames(), { arg: "METHOD" }),
    resume: booleanFlag("continue the run in --output from its last checkpoint with its recorded flags (only --epochs, --max-steps, --validation and --test may change)"),
    ...overwriteFlag,
  };
}

const ARTIFACT_NAMES: Record<MethodInfo["category"], string> = { "feature-based": "classifier", "layer fine-tuning": "model", "parameter-efficient": "adapter" };

export const train: Command = {
  name: "train",
  summary: "fine-tune a model with one method and save the result",
  get help() {
    return `Usage: finetune train --model ID|DIR --method METHOD (--train FILE [--validation FILE] [--test FILE] | --data FILE | --dataset ID) --output DIR [options]

Fine-tunes a pretrained model with one method of the taxonomy and writes the result to --output:
  head, last-layers, full     the whole model (config.json + model.safetensors, loadable by transformers)
${methodRow(cliPeftMethods().map((m) => m.cli.name), "a PEFT adapter (adapter_config.json + adapter_model.safetensors)")}
  feature                     classifier.safetensors, fitted on the frozen model's pooled features
plus the tokenizer, finetune.json (how to load it again), metrics.json (validation/test scores, time,
parameter counts, the learning rate), logs/metrics.csv and checkpoints/last (for --resume). Ctrl-C stops
after the current step and saves a checkpoint.

Without --lr, the rate is the method's usual one, scaled for the model's width for the methods that train
weight matrices (docs/cli.md has the rule). --lr auto runs a learning-rate range test first, as Lightning's
lr_find: up to 100 steps with the rate rising from 1e-8 to 1 (stopping when the loss diverges), after
which the weights are put back; training then uses the rate where the loss fell fastest. One line on stderr
and metrics.json (lrFind) report the rate, the lowest-loss rate and the steps the test ran.

Options:
${flagHelp(trainFlags())}

Examples:
  finetune train --model distilbert-base-uncased --method lora \\
    --train data/train.jsonl --validation data/val.jsonl --test data/test.jsonl --epochs 3 --output runs/lora
  finetune train --model ./my-model --method last-layers --layers 2 --data reviews.csv \\
    --text-column review --label-column sentiment --label-names negative,positive --output runs/last2
  finetune train --model distilbert-base-uncased --method ia3 --dataset stanfordnlp/imdb --validation-split 0.1 \\
    --max-rows 2000 --max-length 256 --output runs/imdb-ia3
  finetune train --model gpt2 --task causal-lm --method prefix --train lm.jsonl --max-steps 500 --output runs/prefix
  finetune train --model bundled --method full --dataset bundled:spam --lr auto --output runs/full-auto
  finetune train --model bundled-lm --method lora --dataset bundled:sentiment-chat --max-steps 150 --output runs/bundled-lm-lora
  finetune train --model ./small-chat-model --method lora --train chat.jsonl --packing --max-length 512 --output runs/chat
  finetune train --config run.yaml --lr 3e-4
  finetune train --output runs/lora --resume`;
  },

  async run(argv) {
    const { values: given } = await parseWithConfig(argv, trainFlags());
    if (!given.output) throw new UsageError(`--output is required (the folder for the ${given.resume ? "run to continue" : "trained result"})`);
    if (given.resume && given.overwrite) throw new UsageError("--resume continues the run in --output and --overwrite deletes it: give one of them");
    const { resume: _, config: __, overwrite: ___, ...table } = trainFlags();
    const record = given.resume ? await readRunRecord(given.output, table) : null;
    const v = record ? await resumedFlags(record, given) : given;
    if (!v.model) throw new UsageError("--model is required (a model folder or hub id)");
    if (!v.method) throw new UsageError(`--method is required (one of ${methodNames().join(", ")})`);
    if (v.epochs === 0) throw new UsageError("--epochs 0 would save the untrained model; give a positive number of epochs (or --max-steps)");
    const output = v.output!;
    const hub = hubOptions(v);
    const source = { ref: await modelRef(v.model), hub, onWarning: noteOnce(), baseDtype: v.baseDtype };
    const lock = await prepareOutput(output, {
      kind: "train", overwrite: v.overwrite, inputs: [isAbsolute(source.ref) ? source.ref : undefined, v.tokenizer, v.train, v.validation, v.test, v.data, v.chatTemplate],
    });
    try {
      const task = v.task ?? (await detectTask(source));
      const data = await loadData(task, v, hub);
      info(describeData(data));
      const trainData = rowsDigest(data.splits.train ?? []);
      if (record) checkResumedData(record, trainData);
      const { tokenizer } = await loadTokenizer(v.tokenizer ? [v.tokenizer] : [source.ref], hub, source.ref);
      await useChatTemplateFile(tokenizer, v.chatTemplate);
      const { resume: _r, config: _c, overwrite: _o, ...saved } = v;
      if (!record) await recordNewRun(output, saved, trainData);
      report(v.method, await runFineTune({
        method: v.method, methodOptions: methodOptions(v), hp: { ...hyperparameters(v), packing: v.packing }, source, tokenizer, data,
        output, resume: v.resume, interactive: true, log: info,
      }), output);
    } finally {
      await lock.release();
    }
  },
};

function report(method: MethodName, result: RunResult, output: string): void {
  console.log(`trained ${method} in ${formatSeconds(result.trainSeconds)}${result.steps === null ? "" : ` (${result.steps} steps)`}`);
  if (result.validation) console.log(`validation: ${metricsLine(result.validation)}`);
  if (result.test) console.log(`test: ${metricsLine(result.test)}`);
  console.log(`saved to ${output} (${ARTIFACT_NAMES[methodInfo(method).category]}: ${formatBytes(result.artifactBytes ?? 0)})`);
}

/** A row of the help's table of methods: the names wrapped in the first column, as the rows around it. */
function methodRow(names: string[], what: string): string {
  const lines = [""];
  for (const [i, name] of names.entries()) {
    const item = i < names.length - 1 ? `${name},` : name;
    const line = lines.at(-1)!;
    if (line && line.length + 1 + item.length > METHOD_COLUMN - 2) lines.push(item);
    else lines[lines.length - 1] = line ? `${line} ${item}` : item;
  }
  return lines.map((l, i) => `  ${i === 0 ? `${l.padEnd(METHOD_COLUMN)}${what}` : l}`).join("\n");
}

const METHOD_COLUMN = 28;

function describeData(data: TaskData): string {
  return `data: ${describeSplits(data.splits)}${data.task === "seq-cls" ? `; labels ${data.labels.names.join(", ")}` : ""}`;
}

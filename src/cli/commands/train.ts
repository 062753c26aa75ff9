import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeJsonAtomic } from "../../io/atomic.js";
import { formatBytes, formatSeconds } from "../../report/format.js";
import { booleanFlag, choiceFlag, flagHelp, flagsFromObject, type FlagValues } from "../args.js";
import { UsageError, type Command } from "../command.js";
import { parseWithConfig } from "../config-file.js";
import { hubOptions, hyperparameters, instructionFlags, methodOptions, runFlags } from "../flags.js";
import { METHOD_INFO, METHODS, type MethodInfo } from "../methods.js";
import { info, metricsLine, noteOnce } from "../output.js";
import { describeSplits, loadData, type TaskData } from "../pipeline/data.js";
import { runFineTune } from "../pipeline/fine-tune.js";
import { useChatTemplateFile } from "../pipeline/lm.js";
import { detectTask, loadTokenizer, modelRef } from "../pipeline/sources.js";

const flags = {
  ...runFlags,
  ...instructionFlags,
  method: choiceFlag(`one of ${METHODS.join(", ")}`, METHODS, { arg: "METHOD" }),
  resume: booleanFlag("continue the run in --output from its last checkpoint (its saved flags apply unless overridden)"),
};
type Values = FlagValues<typeof flags>;

const ARTIFACT_NAMES: Record<MethodInfo["family"], string> = { "feature-based": "classifier", "layer fine-tuning": "model", "parameter-efficient": "adapter" };

/** The flags of a run, kept in its output folder so `--resume` needs nothing but --output. */
const ARGS_FILE = "train-args.json";

export const train: Command = {
  name: "train",
  summary: "fine-tune a model with one method and save the result",
  help: `Usage: finetune train --model ID|DIR --method METHOD (--train FILE [--validation FILE] [--test FILE] | --data FILE | --dataset ID) --output DIR [options]

Fine-tunes a pretrained model with one method of the taxonomy and writes the result to --output:
  head, last-layers, full     the whole model (config.json + model.safetensors, loadable by transformers)
  lora, prompt, p-tuning,     a PEFT adapter (adapter_config.json + adapter_model.safetensors)
  prefix, ia3, adapter
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
${flagHelp(flags)}

Examples:
  finetune train --model distilbert-base-uncased --method lora \\
    --train data/train.jsonl --validation data/val.jsonl --test data/test.jsonl --epochs 3 --output runs/lora
  finetune train --model ./my-model --method last-layers --layers 2 --data reviews.csv \\
    --text-column review --label-column sentiment --label-names negative,positive --output runs/last2
  finetune train --model distilbert-base-uncased --method ia3 --dataset stanfordnlp/imdb --validation-split 0.1 \\
    --max-rows 2000 --max-length 256 --output runs/imdb-ia3
  finetune train --model gpt2 --task causal-lm --method prefix --train lm.jsonl --max-steps 500 --output runs/prefix
  finetune train --model bundled --method full --dataset bundled:spam --lr auto --output runs/full-auto
  finetune train --model ./small-chat-model --method lora --train chat.jsonl --packing --max-length 512 --output runs/chat
  finetune train --config run.yaml --lr 3e-4
  finetune train --output runs/lora --resume`,

  async run(argv) {
    let { values: v } = await parseWithConfig(argv, flags);
    if (v.resume) v = await withSavedArgs(v);
    if (!v.model) throw new UsageError("--model is required (a model folder or hub id)");
    if (!v.method) throw new UsageError(`--method is required (one of ${METHODS.join(", ")})`);
    if (!v.output) throw new UsageError("--output is required (the folder for the trained result)");
    const hub = hubOptions(v);
    const source = { ref: await modelRef(v.model), hub, onWarning: noteOnce() };
    const task = v.task ?? (await detectTask(source));
    const data = await loadData(task, v, hub);
    info(describeData(data));
    const { tokenizer } = await loadTokenizer(v.tokenizer ? [v.tokenizer] : [source.ref], hub, source.ref);
    await useChatTemplateFile(tokenizer, v.chatTemplate);
    const method = v.method;
    await mkdir(v.output, { recursive: true });
    const { resume: _, config: __, ...saved } = v;
    await writeJsonAtomic(join(v.output, ARGS_FILE), saved);
    const result = await runFineTune({
      method, methodOptions: methodOptions(v), hp: { ...hyperparameters(v), packing: v.packing }, source, tokenizer, data,
      output: v.output, resume: v.resume, interactive: true, log: info,
    });
    console.log(`trained ${method} in ${formatSeconds(result.trainSeconds)}${result.steps === null ? "" : ` (${result.steps} steps)`}`);
    if (result.validation) console.log(`validation: ${metricsLine(result.validation)}`);
    if (result.test) console.log(`test: ${metricsLine(result.test)}`);
    console.log(`saved to ${v.output} (${ARTIFACT_NAMES[METHOD_INFO[method].family]}: ${formatBytes(result.artifactBytes ?? 0)})`);
  },
};

async function withSavedArgs(v: Values): Promise<Values> {
  if (!v.output) throw new UsageError("--resume needs --output (the folder of the run to continue)");
  const file = join(v.output, ARGS_FILE);
  const text = await readFile(file, "utf8").catch(() => null);
  if (text === null) return v;
  const { resume: _, config: __, ...table } = flags;
  return { ...flagsFromObject(JSON.parse(text) as Record<string, unknown>, table, file), ...v };
}

function describeData(data: TaskData): string {
  return `data: ${describeSplits(data.splits)}${data.task === "seq-cls" ? `; labels ${data.labels.names.join(", ")}` : ""}`;
}

import { isAbsolute, join } from "node:path";
import { textTable } from "../../report/format.js";
import { tableHeader, tableRow } from "../../report/report-md.js";
import type { LearningRate } from "../../train/lr-finder.js";
import { booleanFlag, camel, flagHelp, listFlag, type Flag } from "../args.js";
import { UsageError, type Command } from "../command.js";
import { parseWithConfig } from "../config-file.js";
import { hubOptions, hyperparameters, lrFlag, methodOptions, overwriteFlag, runFlags } from "../flags.js";
import { cliPeftMethods, methodNames, type MethodName } from "../methods.js";
import { prepareOutput } from "../pipeline/output-dir.js";
import { info, noteOnce } from "../output.js";
import { REPORT_FILES, runComparison } from "../pipeline/compare.js";
import { describeSplits, loadClassificationData } from "../pipeline/data.js";
import { detectTask, loadTokenizer, modelRef } from "../pipeline/sources.js";

/** PEFT methods registered with compareByDefault: false (IA3, outside the taxonomy figure's nine): each has a
 *  switch named after it that adds it. */
function optInMethods(): MethodName[] {
  return cliPeftMethods().filter((m) => m.cli.compareByDefault === false).map((m) => m.cli.name);
}

function defaultMethods(): MethodName[] {
  const optIn = optInMethods();
  return methodNames().filter((m) => !optIn.includes(m));
}

/** Built when used: the methods are the ones registered by then. */
function compareFlags() {
  const optIn = Object.fromEntries(cliPeftMethods().filter((m) => optInMethods().includes(m.cli.name))
    .map((m) => [camel(m.cli.name), booleanFlag(`add ${m.cli.label} to the methods`)]));
  return {
    ...runFlags(),
    methods: listFlag(`methods to compare (default ${defaultMethods().join(",")})`, { arg: "M1,M2", choices: methodNames() }),
    ...optIn,
    methodLr: methodLrFlag(),
    resume: booleanFlag("continue the comparison in --output: keep the methods it finished, continue the interrupted one from its checkpoint"),
    ...overwriteFlag,
  };
}

/** `full=2e-4,last-layers=auto` on the command line, or `{ full: 2e-4 }` in a config file. */
function methodLrFlag(): Flag<Partial<Record<MethodName, LearningRate>>> {
  const lr = lrFlag("");
  return {
    kind: "list", arg: "M=LR,...",
    help: "learning rates for some methods, e.g. full=2e-4,last-layers=auto (over --lr and the methods' defaults)",
    read(value, name) {
      const entries = value !== null && typeof value === "object" && !Array.isArray(value) ? Object.entries(value)
        : listFlag("").read(value, name).map((item) => {
          const at = item.indexOf("=");
          if (at < 0) throw new UsageError(`${name}: "${item}" should be METHOD=LR, e.g. full=2e-4`);
          return [item.slice(0, at).trim(), item.slice(at + 1).trim()] as const;
        });
      const out: Partial<Record<MethodName, LearningRate>> = {};
      for (const [method, v] of entries) {
        if (!methodNames().includes(method)) throw new UsageError(`${name}: unknown method "${method}" (choose from ${methodNames().join(", ")})`);
        out[method as MethodName] = lr.read(v, `${name} ${method}`);
      }
      return out;
    },
  };
}

export const compare: Command = {
  name: "compare",
  summary: "fine-tune with several methods on the same budget and chart accuracy against cost",
  get help() {
    return `Usage: finetune compare --model ID|DIR (--train FILE --validation FILE --test FILE | --data FILE | --dataset ID) --output DIR [options]

Trains each method from the same pretrained weights (reloaded for every method) on the same data and
budget (--epochs or --max-steps, --batch-size, --max-length, --seed), then measures wall-clock training
time (and, for feature-based, feature extraction time), test accuracy and macro-F1, trainable parameters,
the size of what must be saved (model, adapter or classifier file), and peak memory. Writes to --output:
  report.md     the table and a short reading of it
  report.json   every measurement
  chart.svg     test accuracy against training time, one labelled point per method
  chart.png     the same chart as an image
  <method>/     each method's trained output (usable with eval, predict, merge)
The table is also printed. Learning rates default to each method's usual one for the model's width (as in
train); --lr sets one for all, --method-lr one per method. auto, in either, runs a learning-rate range test
for the method before it trains (its seconds are reported, not counted as training time); the table's LR
column shows each method's rate.
A method that fails is listed in the report and the exit code is 1; the other methods still run.
The report is rewritten after every method. Ctrl-C stops after the current training step, saving a
checkpoint; the same command with --resume then keeps the finished methods (their measurements are not
redone), continues the interrupted method from its checkpoint (training time counts both parts) and runs
the rest. It refuses when the data, flags or machine set-up (backend, threads, CPU) differ from the report's.
The method options of \`finetune train\` (--lora-r, --num-virtual-tokens, --layers, ...) apply here too.

Options:
${flagHelp(compareFlags())}

Examples:
  finetune compare --model distilbert-base-uncased --train train.jsonl --validation val.jsonl \\
    --test test.jsonl --epochs 1 --output reports/distilbert
  finetune compare --model distilbert-base-uncased --dataset stanfordnlp/imdb --validation-split 1000 \\
    --max-rows 2000 --max-length 256 --epochs 1 --ia3 --output reports/imdb
  finetune compare --model ./tiny-model --data reviews.jsonl --methods head,lora,prompt --max-steps 200 --output reports/quick
  finetune compare --config compare.yaml
  finetune compare --model bundled --dataset bundled:sentiment --output runs/demo --resume   # after Ctrl-C`;
  },

  async run(argv) {
    const { values: v } = await parseWithConfig(argv, compareFlags());
    if (!v.model) throw new UsageError("--model is required (a model folder or hub id)");
    if (!v.output) throw new UsageError("--output is required (the folder for the report)");
    const methods = [...new Set<MethodName>([...(v.methods ?? defaultMethods()), ...optInMethods().filter((m) => (v as Record<string, unknown>)[camel(m)] === true)])];
    const hub = hubOptions(v);
    const source = { ref: await modelRef(v.model), hub, onWarning: noteOnce(), baseDtype: v.baseDtype };
    if ((v.task ?? (await detectTask(source))) !== "seq-cls") throw new UsageError("compare ranks classifiers by test accuracy, so it needs a sequence-classification model (--task seq-cls)");
    const data = await loadClassificationData(v, hub);
    info(`data: ${describeSplits(data.splits)}; labels ${data.labels.names.join(", ")}; methods ${methods.join(", ")}`);
    const { tokenizer } = await loadTokenizer(v.tokenizer ? [v.tokenizer] : [source.ref], hub, source.ref);
    if (v.resume && v.overwrite) throw new UsageError("--resume continues the comparison in --output and --overwrite deletes it: give one of them");
    const lock = await prepareOutput(v.output, { kind: "compare", overwrite: v.overwrite, inputs: [isAbsolute(source.ref) ? source.ref : undefined, v.tokenizer, v.train, v.validation, v.test, v.data] });
    const report = await runComparison({
      methods, methodLr: v.methodLr, methodOptions: methodOptions(v), hp: hyperparameters(v), source, tokenizer, data: { task: "seq-cls", ...data }, output: v.output, resume: v.resume, log: info,
    }).finally(() => lock.release());
    console.log(textTable(tableHeader(), report.methods.map(tableRow)));
    if (!report.chart.pngHasText) info(`warning: no usable font found, so ${join(v.output, REPORT_FILES.png)} has no text; install one (e.g. fonts-dejavu-core) or use ${REPORT_FILES.svg}`);
    console.log(`\nreport: ${join(v.output, REPORT_FILES.md)} (chart: ${join(v.output, REPORT_FILES.png)})`);
    return report.failed.length ? 1 : 0;
  },
};

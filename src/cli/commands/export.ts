import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { saveGguf } from "../../export/gguf.js";
import { GGUF_DTYPES, type GgufDtype } from "../../models/gguf.js";
import { PeftModel, methodOf } from "../../peft/index.js";
import { formatBytes } from "../../report/format.js";
import { booleanFlag, choiceFlag, flagHelp, stringFlag } from "../args.js";
import { UsageError, type Command } from "../command.js";
import { configFlag, parseWithConfig } from "../config-file.js";
import type { FlagValues } from "../args.js";
import { hubOptions, loadFlags } from "../flags.js";
import { mergeableLabels } from "../methods.js";
import { info, noteOnce } from "../output.js";
import { prepareOutputFile } from "../pipeline/output-dir.js";
import { loadOutput } from "../pipeline/trained.js";

const { batchSize: _, maxLength: __, ...modelLoadFlags } = loadFlags;
const DTYPES = Object.keys(GGUF_DTYPES) as GgufDtype[];

const flags = {
  ...modelLoadFlags,
  format: choiceFlag("output format: gguf (llama.cpp, Ollama, LM Studio)", ["gguf"] as const, { arg: "FORMAT" }),
  dtype: choiceFlag("weight type: f32, f16 (default) or q8_0; norms and biases stay f32, as llama.cpp's converter keeps them", DTYPES, { arg: "TYPE" }),
  name: stringFlag("general.name written in the file (default: the model folder's name)", { arg: "NAME" }),
  output: stringFlag("the file to write (written beside it under a temp name, then renamed into place)", { arg: "FILE" }),
  overwrite: booleanFlag("replace --output if it exists (by default an existing file is left alone)"),
  config: configFlag,
};

export const exportCommand: Command = {
  name: "export",
  get summary() {
    return `write a causal LM (with a ${mergeableLabels("/")} adapter merged in) as a GGUF file for llama.cpp and Ollama`;
  },
  get help() {
    return `Usage: finetune export --model DIR|ID|FILE.gguf [--adapter DIR] --format gguf [--dtype f32|f16|q8_0] --output FILE

Writes the model as llama.cpp's convert_hf_to_gguf.py would: llama.cpp's tensor names and layouts (Llama's
query/key rows reordered for its rotary embedding), its hyperparameter keys, and the tokenizer (vocabulary,
merges, special tokens, chat template). An adapter (given with --adapter, or --model naming an adapter folder)
is merged into the base weights first; only ${mergeableLabels("and")} adapters can be. Llama, Mistral, Qwen2 and GPT-2
causal LMs can be exported. q8_0 is ggml's 8-bit block quantisation (a scale per 32 weights).

Options:
${flagHelp(flags)}

Examples:
  finetune export --model runs/lora --format gguf --output runs/model.gguf
  finetune export --model TinyLlama/TinyLlama-1.1B-Chat-v1.0 --adapter runs/lora --format gguf --dtype q8_0 --output tiny.gguf
  llama-cli -m runs/model.gguf -p "Once upon a time"`;
  },

  async run(argv) {
    const { values: v } = await parseWithConfig(argv, flags);
    if (!v.model) throw new UsageError("--model is required (a causal LM folder, hub id, GGUF file, or adapter folder)");
    if (!v.format) throw new UsageError("--format is required (gguf)");
    if (!v.output) throw new UsageError("--output is required (the .gguf file to write)");
    const lock = await prepareOutputFile(v.output, { command: "finetune export", overwrite: v.overwrite, inputs: [v.model, v.adapter, v.baseModel, v.tokenizer] });
    try {
      await exportTo(v, v.model, v.output);
    } finally {
      await lock.release();
    }
  },
};

async function exportTo(v: FlagValues<typeof flags>, modelArg: string, output: string): Promise<void> {
  const onWarning = noteOnce();
  const loaded = await loadOutput(modelArg, { ...v, batchSize: 1, hub: hubOptions(v), onWarning });
  if (loaded.task !== "causal-lm" || !loaded.model) throw new UsageError(`${modelArg} is a classifier; GGUF export writes causal LMs`);
  let model = loaded.model;
  if (model instanceof PeftModel) {
    const type = model.activeConfig.peftType;
    // Adapters that do not fold into the weights add computation llama.cpp does not have.
    if (!methodOf(model.activeConfig).mergeable) throw new UsageError(`${v.adapter ?? modelArg} is a ${type} adapter; only ${mergeableLabels("and")} adapters can be merged into the weights llama.cpp reads`);
    model = model.mergeAndUnload();
    info(`merged ${type} adapter into ${model.constructor.name}`);
  }
  const dtype = v.dtype ?? "f16";
  const name = v.name ?? basename(v.adapter ?? modelArg).replace(/\.gguf$/, "");
  const count = await saveGguf(model, loaded.tokenizer, output, { dtype, name, onWarning });
  console.log(`saved ${output} (${dtype}, ${count} tensors, ${formatBytes((await stat(output)).size)})`);
}

import { copyFile, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { PeftModel, methodOf } from "../../peft/index.js";
import { formatBytes } from "../../report/format.js";
import { choiceFlag, flagHelp, stringFlag } from "../args.js";
import { UsageError, type Command } from "../command.js";
import { configFlag, parseWithConfig } from "../config-file.js";
import { hubOptions, modelFlags, overwriteFlag } from "../flags.js";
import { mergeableLabels } from "../methods.js";
import { info, noteOnce } from "../output.js";
import { replaceFileSet } from "../../io/file-set.js";
import { isSavedWeightFile, parseByteSize } from "../../io/model-weights.js";
import type { PreTrainedModel } from "../../models/index.js";
import { ARTIFACT_SET, SETTINGS_FILE, prepareOutput } from "../pipeline/output-dir.js";
import { isFile } from "../pipeline/sources.js";
import { loadOutput } from "../pipeline/trained.js";

const { model: _, baseDtype: __, ...hubFlags } = modelFlags;

const SAVE_DTYPES = ["float32", "float16", "bfloat16"] as const;
type SaveDtype = (typeof SAVE_DTYPES)[number];

/** What PEFT's merge_and_unload leaves: the base model's own precision (a bf16 checkpoint merges into bf16 weights,
 *  not into a file twice its size). */
function baseDtype(model: PreTrainedModel): SaveDtype {
  const stored = model.configDict().torch_dtype;
  return SAVE_DTYPES.find((d) => d === stored) ?? "float32";
}

/** Built when used: the mergeable methods (registered with mergeable: true) are the ones registered by then. */
function mergeFlags() {
  return {
    adapter: stringFlag(`the ${mergeableLabels("or")} adapter folder`, { arg: "DIR" }),
    baseModel: stringFlag("its base model (default: base_model_name_or_path of adapter_config.json)", { arg: "ID|DIR" }),
    ...hubFlags,
    output: stringFlag("folder for the merged model", { arg: "DIR" }),
    dtype: choiceFlag("precision of the saved weights (default: the base checkpoint's torch_dtype, else float32)", SAVE_DTYPES, { arg: "DTYPE" }),
    maxShardSize: stringFlag("split the weights into model-0000i-of-0000n.safetensors files of at most this size, with an index (\"5GB\", \"500MiB\"; default one file)", { arg: "SIZE" }),
    ...overwriteFlag,
    config: configFlag,
  };
}

export const merge: Command = {
  name: "merge",
  get summary() {
    return `fold a ${mergeableLabels("or")} adapter into its base model and save a plain model`;
  },
  get help() {
    return `Usage: finetune merge --adapter DIR [--base-model ID|DIR] --output DIR

Loads the base model, applies the adapter, merges its weights into the base layers (PEFT's
merge_and_unload) and writes a standalone model folder (config.json + model.safetensors + tokenizer)
that runs at the base model's speed and loads without PEFT, its weights in the base checkpoint's
precision (config.json's torch_dtype) unless --dtype says otherwise.
Only ${mergeableLabels("and")} adapters can be merged.

Options:
${flagHelp(mergeFlags())}

Examples:
  finetune merge --adapter runs/lora --output runs/lora-merged
  finetune merge --adapter runs/ia3 --base-model distilbert-base-uncased --output runs/ia3-merged
  finetune merge --adapter runs/qwen-lora --output runs/qwen-merged --dtype bfloat16 --max-shard-size 2GB
  finetune predict --model runs/lora-merged "merged models predict like the adapter did"`;
  },

  async run(argv) {
    const { values: v } = await parseWithConfig(argv, mergeFlags());
    if (!v.adapter) throw new UsageError("--adapter is required (the adapter folder to merge)");
    if (!v.output) throw new UsageError("--output is required (the folder for the merged model)");
    let maxShardSize: number | undefined;
    try {
      if (v.maxShardSize !== undefined) maxShardSize = parseByteSize(v.maxShardSize, "--max-shard-size");
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const loaded = await loadOutput(v.adapter, { baseModel: v.baseModel, tokenizer: v.tokenizer, batchSize: 1, hub: hubOptions(v), onWarning: noteOnce() });
    if (!(loaded.model instanceof PeftModel)) throw new UsageError(`${v.adapter} is not an adapter folder (no adapter_config.json)`);
    const type = loaded.model.activeConfig.peftType;
    if (!methodOf(loaded.model.activeConfig).mergeable) throw new UsageError(`${v.adapter} is a ${type} adapter; only ${mergeableLabels("and")} adapters can be merged into the weights`);
    const merged = loaded.model.mergeAndUnload();
    const dtype = v.dtype ?? baseDtype(merged);
    const lock = await prepareOutput(v.output, { kind: "merge", overwrite: v.overwrite, inputs: [v.adapter, v.baseModel, v.tokenizer] });
    try {
      await replaceFileSet(v.output, ARTIFACT_SET, async (folder) => {
        await merged.savePretrained(folder, { dtype, maxShardSize });
        await loaded.tokenizer.savePretrained(folder);
        if (await isFile(join(v.adapter!, SETTINGS_FILE))) await copyFile(join(v.adapter!, SETTINGS_FILE), join(folder, SETTINGS_FILE));
      });
    } finally {
      await lock.release();
    }
    info(`merged ${type} adapter into ${merged.constructor.name}`);
    let bytes = 0, files = 0;
    for (const name of await readdir(v.output)) {
      if (!isSavedWeightFile(name) || !name.endsWith(".safetensors")) continue;
      bytes += (await stat(join(v.output, name))).size;
      files++;
    }
    console.log(`saved to ${v.output} (model: ${formatBytes(bytes)} ${dtype}${files > 1 ? ` in ${files} shards` : ""})`);
  },
};

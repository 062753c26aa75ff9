// PeftModel: a base model plus named adapters, with PEFT's in-memory parameter names:
//   injecting methods: base_model.model.<hf module>.lora_A.<adapter>.weight
//   prompt learning:   base_model.<hf module>... and prompt_encoder.<adapter>.<encoder weights>
import { Module, ModuleDict } from "../nn/index.js";
import type { ModelInput, ModelOutput } from "../models/outputs.js";
import type { PreTrainedModel } from "../models/pretrained.js";
import { Tensor, asTensor, cat, full, noGrad, reshape, permute, split } from "../tensor/index.js";
import type { PeftConfig } from "./config.js";
import { ModulesToSaveWrapper, matchesModulesToSave } from "./modules-to-save.js";
import { formatParameterCount } from "../methods/trainable.js";
import { loadPeftModel, savePeftAdapter, type LoadAdapterOptions } from "./adapter-files.js";
import { tunerFor } from "./registry.js";
import type { AdapterLayer, InjectingTuner, PromptEncoderModule, PromptTuner, TunerOptions } from "./tuner.js";
import { isAdapterLayer, type PromptLearningConfig } from "./tuner.js";

/** PEFT's LoraModel/IA3Model level: holds the base model as `model`. */
class TunerModel extends Module {
  constructor(readonly model: PreTrainedModel) {
    super();
    this.addModule("model", model);
  }
}

/** What SEQ_CLS adds to modules_to_save in PEFT, so classifier heads train with every method. */
const SEQ_CLS_HEADS = ["classifier", "score"];

export class PeftModel extends Module {
  readonly peftConfig = new Map<string, PeftConfig>();
  activeAdapter = "default";
  readonly kind: "inject" | "prompt";
  /** The Hugging Face model being adapted (base_model.model, or base_model for prompt learning). */
  readonly model: PreTrainedModel;
  private readonly promptEncoders: ModuleDict<PromptEncoderModule> | null = null;
  private adaptersDisabled = false;

  constructor(model: PreTrainedModel, config: PeftConfig, adapterName = "default", options: TunerOptions = {}) {
    super();
    const tuner = tunerFor(config);
    this.kind = tuner.kind;
    this.model = model;
    if (tuner.kind === "inject") this.addModule("base_model", new TunerModel(model));
    else {
      this.addModule("base_model", model);
      this.promptEncoders = this.addModule("prompt_encoder", new ModuleDict<PromptEncoderModule>());
    }
    this.addAdapter(adapterName, config, options);
  }

  /** Adds another adapter of the same kind and makes it active, as PEFT's add_adapter + set_adapter. */
  addAdapter(name: string, config: PeftConfig, options: TunerOptions = {}): void {
    if (this.peftConfig.has(name)) throw new Error(`adapter "${name}" already exists`);
    const tuner = tunerFor(config);
    if (tuner.kind !== this.kind) throw new Error(`cannot mix ${config.peftType} with the existing ${this.kind === "prompt" ? "prompt-learning" : "injected"} adapters in one PeftModel`);
    if (config.taskType === "SEQ_CLS") {
      config.modulesToSave = [...new Set([...(config.modulesToSave ?? []), ...SEQ_CLS_HEADS])];
    }
    this.model.requiresGrad(false);
    if (tuner.kind === "inject") (tuner as InjectingTuner).inject(this.model, config, name);
    else {
      const pc = config as PromptLearningConfig;
      pc.prepare(this.model.peftFacts());
      this.promptEncoders!.set(name, (tuner as PromptTuner).createEncoder(pc, this.model, options));
    }
    this.wrapModulesToSave(config.modulesToSave ?? [], name);
    this.peftConfig.set(name, config);
    this.setAdapter(name);
    for (const p of (tuner.kind === "inject" ? (tuner as InjectingTuner).extraTrainable?.(this.model, config) : []) ?? []) p.requiresGrad = true;
  }

  private wrapModulesToSave(names: string[], adapter: string): void {
    if (names.length === 0) return;
    for (const [path, m] of [...this.model.namedModules()]) {
      if (!path || !matchesModulesToSave(path, names)) continue;
      if (m instanceof ModulesToSaveWrapper) { m.addAdapter(adapter); continue; }
      // Inside an already wrapped module (its original or copies): leave alone.
      if (path.includes(".original_module") || path.includes(".modules_to_save")) continue;
      const w = new ModulesToSaveWrapper(m);
      w.addAdapter(adapter);
      this.model.setSubmodule(path, w);
    }
  }

  *adapterLayers(): Generator<[string, AdapterLayer]> {
    for (const [path, m] of this.model.namedModules()) if (isAdapterLayer(m)) yield [path, m];
  }

  private *wrappers(): Generator<[string, ModulesToSaveWrapper]> {
    for (const [path, m] of this.model.namedModules()) if (m instanceof ModulesToSaveWrapper) yield [path, m];
  }

  /** Makes adapter `name` the one applied and trained; every other adapter's weights are frozen. */
  setAdapter(name: string): void {
    if (!this.peftConfig.has(name))
      throw new Error(`no adapter named "${name}"; have ${[...this.peftConfig.keys()].join(", ")}`);
    this.activeAdapter = name;
    for (const [, l] of this.adapterLayers()) {
      l.activeAdapter = this.adaptersDisabled ? null : name;
      for (const [pn, p] of l.namedParameters()) if (!pn.startsWith("base_layer.")) p.requiresGrad = pn.split(".").includes(name);
    }
    for (const [, w] of this.wrappers()) {
      w.activeAdapter = this.adaptersDisabled ? null : w.copies.has(name) ? name : null;
      for (const k of w.copies.keys()) w.copies.get(k)!.requiresGrad(k === name);
    }
    if (this.promptEncoders) for (const k of this.promptEncoders.keys()) this.promptEncoders.get(k)!.requiresGrad(k === name);
  }

  /** Runs fn with every adapter switched off: the base model's own outputs. */
  disableAdapter<T>(fn: () => T): T {
    this.adaptersDisabled = true;
    this.setAdapter(this.activeAdapter);
    try {
      return fn();
    } finally {
      this.adaptersDisabled = false;
      this.setAdapter(this.activeAdapter);
    }
  }

  get activeConfig(): PeftConfig {
    return this.peftConfig.get(this.activeAdapter)!;
  }

  forward(input: ModelInput): ModelOutput {
    if (this.kind === "inject" || this.adaptersDisabled) return this.model.forward(input);
    return this.promptForward(input);
  }

  /** PEFT's prompt-learning forward: virtual tokens as input embeddings, or as every layer's past. */
  private promptForward(input: ModelInput): ModelOutput {
    const config = this.activeConfig as PromptLearningConfig;
    const tuner = tunerFor(config) as PromptTuner;
    const nvt = config.numVirtualTokens!;
    const ids = input.inputIds === undefined ? undefined : asTensor(input.inputIds, "int32");
    const batch = ids ? ids.shape[0] : input.inputsEmbeds!.shape[0];
    const seq = ids ? ids.shape[1] : input.inputsEmbeds!.shape[1];
    const mask = input.attentionMask === undefined ? full([batch, seq], 1) : asTensor(input.attentionMask, "float32");
    const prefixOnes = full([batch, nvt], 1, { dtype: mask.dtype });
    const attentionMask = cat([prefixOnes, mask], 1);
    const prompts = this.promptEncoders!.get(this.activeAdapter)!.forward();
    if (tuner.feeds === "pastKeyValues") {
      return this.model.forward({ ...input, attentionMask, pastKeyValues: this.prefixPastKeyValues(prompts, batch) });
    }
    const embeds = input.inputsEmbeds ?? this.model.getInputEmbeddings().forward(ids!);
    const batchedPrompts = cat(Array.from({ length: batch }, () => reshape(prompts, [1, ...prompts.shape])), 0);
    const out: ModelInput = { ...input, inputIds: undefined, inputsEmbeds: cat([batchedPrompts, embeds], 1), attentionMask };
    if (input.tokenTypeIds !== undefined) out.tokenTypeIds = cat([full([batch, nvt], 0, { dtype: "int32" }), asTensor(input.tokenTypeIds, "int32")], 1);
    if (input.labels !== undefined && config.taskType === "CAUSAL_LM") {
      out.labels = cat([full([batch, nvt], -100, { dtype: "int32" }), asTensor(input.labels, "int32")], 1);
    }
    return this.model.forward(out);
  }

  /** [nvt, layers*2*heads*headDim] -> per layer {key, value} [batch, heads, nvt, headDim]. */
  private prefixPastKeyValues(prompts: Tensor, batch: number) {
    const c = this.activeConfig as PromptLearningConfig;
    const nvt = prompts.shape[0], layers = c.numLayers!, heads = c.numAttentionHeads!, headDim = c.tokenDim! / heads;
    const perToken = reshape(prompts, [1, nvt, layers * 2, heads, headDim]);
    const batched = batch === 1 ? perToken : cat(Array.from({ length: batch }, () => perToken), 0);
    // [layers*2, batch, heads, nvt, headDim]: slot 2i is layer i's key, 2i+1 its value.
    const slots = split(permute(batched, [2, 0, 3, 1, 4]), 1, 0).map((t) => reshape(t, [batch, heads, nvt, headDim]));
    return Array.from({ length: layers }, (_, i) => ({ key: slots[2 * i], value: slots[2 * i + 1] }));
  }

  // ---------------------------------------------------------------------------------- merging

  /** Folds the active LoRA adapter into the base weights and returns the plain model. */
  mergeAndUnload(): PreTrainedModel {
    return this.unload(true);
  }

  /** Returns the base model without any adapter (PEFT's unload). */
  unload(merge = false): PreTrainedModel {
    for (const [path, l] of [...this.adapterLayers()]) {
      if (merge) l.merge(this.activeAdapter);
      this.model.setSubmodule(path, l.baseLayer);
    }
    for (const [path, w] of [...this.wrappers()]) {
      const keep = w.activeAdapter !== null ? w.copies.get(w.activeAdapter)! : w.originalModule;
      this.model.setSubmodule(path, keep);
    }
    return this.model;
  }

  mergeAdapter(): void {
    for (const [, l] of this.adapterLayers()) l.merge(this.activeAdapter);
  }

  unmergeAdapter(): void {
    for (const [, l] of this.adapterLayers()) l.unmerge();
  }

  // ---------------------------------------------------------------------------------- saving

  /** The tensors PEFT writes to adapter_model.safetensors for adapter `name`, under its key names. */
  adapterStateDict(name = this.activeAdapter): Map<string, Tensor> {
    const config = this.peftConfig.get(name);
    if (!config) throw new Error(`no adapter named "${name}"`);
    const out = new Map<string, Tensor>();
    const tuner = tunerFor(config);
    const dictNames = tuner.kind === "inject" ? tuner.adapterDictNames : [];
    for (const [key, p] of this.namedParameters()) {
      const saved = savedKey(key, name, dictNames);
      if (saved) out.set(saved, p);
    }
    if (this.kind === "prompt") {
      out.set("prompt_embeddings", noGrad(() => this.promptEncoders!.get(name)!.forward()).detach());
    }
    return out;
  }

  /** Loads tensors saved by adapterStateDict (or by Python PEFT) into adapter `name`. Every key must
   *  match a tensor of the same shape; missing and unexpected keys are errors naming them. */
  loadAdapterStateDict(tensors: Map<string, Tensor>, name = this.activeAdapter, source = "adapter_model.safetensors"): void {
    const targets = this.adapterStateDict(name);
    const missing = [...targets.keys()].filter((k) => !tensors.has(k));
    const unexpected = [...tensors.keys()].filter((k) => !targets.has(k));
    if (missing.length || unexpected.length)
      throw new Error(`${source}: does not fit adapter "${name}": missing keys [${missing.join(", ")}], unexpected keys [${unexpected.join(", ")}]`);
    for (const [k, t] of tensors) {
      const dst = targets.get(k)!;
      if (dst.shape.join() !== t.shape.join()) throw new Error(`${source}: ${k} has shape [${t.shape}], the model expects [${dst.shape}]`);
      if (k === "prompt_embeddings") this.promptEncoders!.get(name)!.setOutputTable(t.to("float32"));
      else dst.copy_(t.dtype === dst.dtype ? t : t.to(dst.dtype));
    }
  }

  // ---------------------------------------------------------------------------------- reporting

  /** Writes adapter_config.json + adapter_model.safetensors as PEFT's save_pretrained does. */
  savePretrained(dir: string, opts: { selectedAdapters?: string[] } = {}): Promise<void> {
    return savePeftAdapter(this, dir, opts.selectedAdapters);
  }

  /** PeftModel.from_pretrained(base, dir or hub id). */
  static fromPretrained(base: PreTrainedModel, pathOrId: string, opts: LoadAdapterOptions = {}): Promise<PeftModel> {
    return loadPeftModel(base, pathOrId, opts);
  }

  /** PEFT's print_trainable_parameters. */
  printTrainableParameters(): void {
    const { trainable, all } = this.getNbTrainableParameters();
    console.log(formatParameterCount({ trainable, all }));
  }

  getNbTrainableParameters(): { trainable: number; all: number } {
    let trainable = 0, all = 0;
    for (const [, p] of this.namedParameters()) {
      all += p.numel;
      if (p.requiresGrad) trainable += p.numel;
    }
    return { trainable, all };
  }
}

/** PEFT's save-name rule: drop the adapter name after an adapter dict (lora_A.default.weight ->
 *  lora_A.weight) and the `modules_to_save.<name>.` level of wrapped heads. Other tensors are not
 *  part of the adapter and map to null. */
export function savedKey(key: string, adapter: string, dictNames: readonly string[]): string | null {
  const parts = key.split(".");
  for (let i = 0; i + 1 < parts.length; i++) {
    if (parts[i + 1] !== adapter) continue;
    if (parts[i] === "modules_to_save") return [...parts.slice(0, i), ...parts.slice(i + 2)].join(".");
    if (dictNames.includes(parts[i])) return [...parts.slice(0, i + 1), ...parts.slice(i + 2)].join(".");
  }
  return null;
}


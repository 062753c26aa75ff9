// What a PEFT method provides. Two kinds, as in PEFT: tuners that inject layers into the model (LoRA,
// IA3, bottleneck adapters) and prompt-learning tuners that feed learned vectors in front of the input
// (prompt tuning, P-tuning, prefix tuning).
import type { Module } from "../nn/index.js";
import type { LayerPast } from "../models/outputs.js";
import type { PreTrainedModel } from "../models/pretrained.js";
import type { Tensor } from "../tensor/index.js";
import type { PeftConfig } from "./config.js";

/** A layer that wraps a base layer and carries named adapters (LoRA's Linear, IA3's, ...). */
export interface AdapterLayer extends Module {
  readonly isAdapterLayer: true;
  readonly baseLayer: Module;
  /** The adapter applied in forward, or null while adapters are disabled. */
  activeAdapter: string | null;
  adapterNames(): string[];
  /** Folds adapter `name` into the base weights (LoRA), or throws for methods that cannot. */
  merge(name: string): void;
  unmerge(): void;
  readonly merged: boolean;
}

export function isAdapterLayer(m: Module): m is AdapterLayer {
  return (m as unknown as Partial<AdapterLayer>).isAdapterLayer === true;
}

export interface InjectingTuner<C extends PeftConfig = PeftConfig> {
  readonly kind: "inject";
  /** Module names that hold per-adapter weights (ModuleDicts keyed by adapter name), e.g. lora_A. */
  readonly adapterDictNames: readonly string[];
  /** Adds adapter `name` to the model: wraps or extends every targeted layer. Throws, naming what
   *  was looked for, when the config targets modules the model lacks. */
  inject(model: PreTrainedModel, config: C, name: string): void;
  /** Extra base parameters the config makes trainable (LoRA's bias = "all" | "lora_only"). */
  extraTrainable?(model: PreTrainedModel, config: C): Tensor[];
}

/** Produces the virtual tokens: [numVirtualTokens, outDim] for the whole batch. */
export interface PromptEncoderModule extends Module {
  forward(): Tensor;
  /** Replaces the encoder's computation by a fixed table, as PEFT does when it loads the saved
   *  prompt_embeddings (the MLP/LSTM of P-tuning is not saved). */
  setOutputTable(table: Tensor): void;
}

export interface PromptTuner<C extends PeftConfig = PeftConfig> {
  readonly kind: "prompt";
  /** Prefix tuning feeds keys/values to every layer; the others feed input embeddings. */
  readonly feeds: "pastKeyValues" | "inputsEmbeds";
  /** Fills config fields PEFT derives from the model (tokenDim, numLayers, heads...). */
  prepareConfig(config: C, model: PreTrainedModel): void;
  createEncoder(config: C, model: PreTrainedModel, options: TunerOptions): PromptEncoderModule;
  numVirtualTokens(config: C): number;
}

export type Tuner = InjectingTuner | PromptTuner;

/** Options that are not part of the on-disk config (a tokenizer for text-initialised prompts). */
export interface TunerOptions {
  tokenizer?: { encodeSync?(text: string, opts?: { addSpecialTokens?: boolean }): number[] };
}

export type PastKeyValues = LayerPast[];

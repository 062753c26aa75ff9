// What a PEFT method provides. Two kinds, as in PEFT: tuners that inject layers into the model (LoRA,
// IA3, bottleneck adapters) and prompt-learning tuners that feed learned vectors in front of the input
// (prompt tuning, P-tuning, prefix tuning).
import type { Module } from "../nn/index.js";
import type { LayerPast, PeftModelFacts } from "../models/outputs.js";
import type { PreTrainedModel } from "../models/pretrained.js";
import type { Tensor } from "../tensor/index.js";
import type { Schema } from "../models/config.js";
import { PEFT_FIELDS, PeftConfig, type ConfigFields, type SchemaValues } from "./config.js";
import { SIZE_FIELD } from "./patterns.js";

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

/** The fields every prompt-learning method shares (PEFT's PromptLearningConfig). Those PEFT derives from the model
 *  stay null until the PeftModel fills them (prepare), so a saved config records them. tokenDim left out is the
 *  model's hidden size (prefix tuning on grouped-query attention: head_dim * kv heads). */
export const PROMPT_LEARNING_FIELDS = {
  ...PEFT_FIELDS,
  numVirtualTokens: SIZE_FIELD,
  tokenDim: SIZE_FIELD,
  numTransformerSubmodules: SIZE_FIELD,
  numAttentionHeads: SIZE_FIELD,
  numLayers: SIZE_FIELD,
} as const satisfies Schema;

export type PromptLearningConfigFields = ConfigFields<typeof PROMPT_LEARNING_FIELDS>;

export interface PromptLearningConfig extends SchemaValues<typeof PROMPT_LEARNING_FIELDS> {}

export abstract class PromptLearningConfig extends PeftConfig {
  static override readonly fields: Schema = PROMPT_LEARNING_FIELDS;

  override get isPromptLearning(): boolean {
    return true;
  }

  /** PEFT's _prepare_prompt_learning_config: fills the sizes left null from the model. */
  prepare(facts: PeftModelFacts): void {
    if (this.numVirtualTokens === null) throw new Error(`${this.constructor.name}: numVirtualTokens (num_virtual_tokens) is required`);
    this.numLayers ??= facts.numLayers;
    this.tokenDim ??= facts.hiddenSize;
    this.numAttentionHeads ??= facts.numAttentionHeads;
    // PEFT uses 2 only for encoder-decoder models, which we do not have.
    this.numTransformerSubmodules ??= 1;
    if (this.numTransformerSubmodules !== 1)
      throw new Error(`${this.constructor.name}: num_transformer_submodules must be 1 for ${facts.modelType} (2 is for encoder-decoder models)`);
  }

  /** Prompt tuning and P-tuning feed the prompts as input embeddings, so they need the model's width. */
  protected requireHiddenSize(facts: PeftModelFacts): void {
    if (this.tokenDim !== facts.hiddenSize)
      throw new Error(`${this.constructor.name}: token_dim ${this.tokenDim} differs from the hidden size ${facts.hiddenSize} of ${facts.modelType}`);
  }
}

/** Produces the virtual tokens: [numVirtualTokens, outDim] for the whole batch. */
export interface PromptEncoderModule extends Module {
  forward(): Tensor;
  /** Loads the saved prompt_embeddings (the encoder's output). PEFT copies them into `embedding`, which
   *  in inference mode is the whole encoder; a trainable MLP/LSTM/projection cannot be recovered from
   *  its output, so such encoders refuse. */
  setOutputTable(table: Tensor): void;
}

export interface PromptTuner<C extends PromptLearningConfig = PromptLearningConfig> {
  readonly kind: "prompt";
  /** Prefix tuning feeds keys/values to every layer; the others feed input embeddings. */
  readonly feeds: "pastKeyValues" | "inputsEmbeds";
  /** Called after config.prepare: the config's sizes are set. */
  createEncoder(config: C, model: PreTrainedModel, options: TunerOptions): PromptEncoderModule;
}

export type Tuner = InjectingTuner | PromptTuner;

/** Options that are not part of the on-disk config. */
export interface TunerOptions {
  /** prompt_tuning_init "TEXT": the init text's token ids, as PEFT takes them from
   *  tokenizer(prompt_tuning_init_text).input_ids (special tokens included), e.g.
   *  `await tokenizer.encode(config.promptTuningInitText)`. Our tokenizers only encode asynchronously. */
  promptTuningInitTokenIds?: number[];
}

export type PastKeyValues = LayerPast[];

// What a model family declares about itself, in src/models/<family>/family.ts, so that generic code (the Auto
// classes, the layer methods, PEFT's default targets, the CLI, pretraining, the memory estimate) reads one
// registration instead of keeping tables of model types. ./registry.ts holds the registered families.
import type { FamilyGguf } from "./gguf.js";
import type { BaseConfig, PreTrainedModel, PretrainedClass } from "./pretrained.js";

// Each family's classes take its own config type; the registry only hands them what their parseConfig made.
export type ModelClass = PretrainedClass<PreTrainedModel, any>;

/** The model classes of a family, one per head. `base` (no head) also parses config.json (static parseConfig)
 *  and sizes the model from it (static modelShape), as every class of the family does. */
export interface FamilyClasses {
  base: ModelClass;
  /** *ForSequenceClassification: the `seq-cls` task. */
  seqCls?: ModelClass;
  /** *ForCausalLM / *LMHeadModel: the `causal-lm` task, and next-token pretraining when there is no maskedLm. */
  causalLm?: ModelClass;
  /** *ForMaskedLM: pretraining is masked LM when a family has one. */
  maskedLm?: ModelClass;
}

/** Where the parts of the model are, as module paths relative to the base model (the `baseModelPrefix`
 *  submodule), so the bare base model and every head class resolve through the same paths. */
export interface FamilyLayout {
  /** The ModuleList of transformer blocks, in order. */
  blocks: string;
  /** Modules after the last block and before the head (final norms, BERT's pooler). They belong to the top
   *  of the stack, so they train whenever at least one block does. */
  top: string[];
  /** Modules before the first block (token, position and type embeddings with their norm). */
  embeddings: string[];
}

/** Default targets of the injecting PEFT methods for one model_type: PEFT's
 *  TRANSFORMERS_MODELS_TO_{LORA,IA3}_TARGET_MODULES_MAPPING where PEFT has the model type, our own choice
 *  (said so in the family file) where it has not. */
export interface PeftTargets {
  /** LoRA target_modules: names matched exactly or as a dotted suffix. */
  lora: string[];
  /** IA3 target_modules. */
  ia3: string[];
  /** IA3 feedforward_modules: the targets whose input (not output) is scaled; a subset of `ia3`. */
  ia3Feedforward: string[];
  /** Bottleneck adapters: the projection that ends each sub-layer, as a path inside one block. */
  adapter: { attention: string; ffn: string };
}

/** The sizes of a fresh model (pretraining from scratch, tiny test models), whatever the architecture. */
export interface FreshModelSize {
  /** One of the family's model types (its defaults and quirks apply). */
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  /** Key/value heads (grouped-query attention), dividing numHeads; default numHeads. Families whose attention
   *  has no separate key/value head count leave it out of their config, and freshModel reports that. */
  numKvHeads?: number;
  intermediateSize: number;
  /** The longest input (position embeddings; recorded in the config of rotary models). */
  maxPositions: number;
  /** Every dropout probability of the config; the family's default when left out. */
  dropout?: number;
  padTokenId: number | null;
  bosTokenId: number | null;
  eosTokenId: number | null;
  numLabels?: number;
}

export interface ModelFamily {
  /** The family's name in messages, docs and `pretrain --arch` lists (usually its first model type). */
  name: string;
  /** The config.json model_type values this family loads. */
  modelTypes: readonly string[];
  /** Encoders read the whole text at once: features pool the first token and a checkpoint that names no
   *  architecture trains for `seq-cls`. Decoders are causal: features pool the last token and the default task
   *  is `causal-lm`. */
  kind: "encoder" | "decoder";
  classes: FamilyClasses;
  layout: FamilyLayout;
  /** Per model type (every one of modelTypes), since PEFT's tables are keyed by model_type. */
  peftTargets: Readonly<Record<string, PeftTargets>>;
  /** A config of the given sizes, validated like a file, for a freshly initialised model of any of the classes. */
  freshConfig(size: FreshModelSize): BaseConfig;
  /** How llama.cpp names and lays out the family's tensors and hyperparameters (GGUF files); none: not supported. */
  gguf?: FamilyGguf;
}

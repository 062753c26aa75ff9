// The base of every model: a Module with a typed config, the forward contract of ./outputs.ts, and
// the facts PEFT needs. Loading and saving in Hugging Face layout live in ./loading.ts.
import { Module } from "../nn/index.js";
import type { Embedding, Linear } from "../nn/index.js";
import { initMissingParameters } from "./init-weights.js";
import { loadPretrained, savePretrained, type SavePretrainedOptions } from "./loading.js";
import { resizeTokenEmbeddings, type ResizeOptions } from "./resize-embeddings.js";
import type { FromPretrainedOptions } from "./loading.js";
import type { OutputRows } from "./encoder.js";
import type { ModelInput, ModelOutput, PeftModelFacts } from "./outputs.js";
import type { ModelShape } from "./size.js";

export interface BaseConfig {
  modelType: string;
  /** The original config.json object, kept so savePretrained writes back every field we do not model. */
  raw: Record<string, unknown>;
  /** Rows of the token embeddings (vocab_size). */
  vocabSize: number;
  /** Std of the normal init for weights a checkpoint lacks (HF initializer_range); 0.02 when absent. */
  initializerRange?: number;
}

/** A concrete model class: builds from its config, parses its config.json, and sizes the model a config
 *  describes (loading refuses an absurd one before allocating anything). */
export interface PretrainedClass<M extends PreTrainedModel = PreTrainedModel, C extends BaseConfig = BaseConfig> {
  new (config: C): M;
  readonly name: string;
  parseConfig(raw: Record<string, unknown>, file: string): C;
  modelShape(config: C): ModelShape;
}

let skipInitDepth = 0;

/** Builds a model without Hugging Face's init pass, for weights that come from elsewhere (a checkpoint, or
 *  the enclosing model's own pass), like transformers' no_init_weights. */
export function skipInit<T>(build: () => T): T {
  skipInitDepth++;
  try {
    return build();
  } finally {
    skipInitDepth--;
  }
}

export abstract class PreTrainedModel<C extends BaseConfig = BaseConfig> extends Module {
  constructor(readonly config: C) {
    super();
  }

  /** Loads config.json and weights from a local directory or hub id, like transformers' from_pretrained. */
  static fromPretrained<M extends PreTrainedModel, C extends BaseConfig>(
    this: PretrainedClass<M, C>, pathOrId: string, opts?: FromPretrainedOptions,
  ): Promise<M> {
    return loadPretrained(this, pathOrId, opts);
  }

  /** Writes config.json and model.safetensors (or its shards, with maxShardSize) that transformers can load. */
  savePretrained(dir: string, opts?: SavePretrainedOptions): Promise<void> {
    return savePretrained(this, dir, opts);
  }

  abstract forward(input: ModelInput): ModelOutput;

  abstract peftFacts(): PeftModelFacts;

  /** The token embedding table (prompt tuning reads it; tied heads share it). */
  abstract getInputEmbeddings(): Embedding;

  /** An LM head's projection to the vocabulary (tied to the input embeddings or not); null for other heads. */
  getOutputEmbeddings(): Linear | null {
    return null;
  }

  /** transformers' resize_token_embeddings, for a tokenizer that gained tokens: ./resize-embeddings.ts. */
  resizeTokenEmbeddings(numTokens: number, opts?: ResizeOptions): Embedding {
    return resizeTokenEmbeddings(this, numTokens, opts);
  }

  /** Hugging Face's base_model_prefix ("distilbert", "bert", "transformer", "model"). */
  abstract readonly baseModelPrefix: string;

  /** For SEQ_CLS models: the head module names PEFT wraps as modules_to_save. */
  classifierModules(): string[] {
    return [];
  }

  /** The rows of the last layer the model's head reads: every position, or the first alone (an encoder classifier
   *  on [CLS] or <s>), whose last layer then computes that row alone but for keys and values (./encoder.ts). The
   *  memory estimate reads it too. */
  headReads(): OutputRows {
    return "all";
  }

  /** The rows the last layer computes for this input: what the head reads, every row when the caller asked for
   *  the whole last hidden state, or position 0 when the caller asked for that and the head reads no more. */
  protected lastLayerRows(input: ModelInput): OutputRows {
    const asked = input.outputLastHiddenState;
    if (!asked) return this.headReads();
    return asked === "first" && this.headReads() === "first" ? "first" : "all";
  }

  /** The transformers class name config.json's "architectures" records; a class that loads several model types
   *  names the one of its config. */
  architectureName(): string {
    return this.constructor.name;
  }

  /** Keys that alias another parameter and are not written by savePretrained (GPT-2's lm_head). */
  tiedKeys(): string[] {
    return [];
  }

  /** Checkpoint keys dropped without a warning (transformers' _keys_to_ignore_on_load_unexpected). */
  ignoredCheckpointKeys(): RegExp[] {
    return [];
  }

  /** The sizes of this model (its class's modelShape of its config). */
  shape(): ModelShape {
    return (this.constructor as PretrainedClass<PreTrainedModel, C>).modelShape(this.config);
  }

  /** config.json content, with Hugging Face field names, for savePretrained. */
  configDict(): Record<string, unknown> {
    return { ...this.config.raw };
  }

  /** transformers' post_init, for a constructor that wants _init_weights on every weight (unless built under
   *  skipInit). Without it, fresh weights keep the torch layer defaults. */
  protected postInit(): void {
    if (skipInitDepth === 0) this.initWeights();
  }

  /** Re-initialises every parameter as the model's _init_weights. */
  initWeights(): void {
    for (const [, m] of this.namedModules()) {
      const own = [...m.namedParameters()].filter(([n]) => !n.includes(".")).map(([n]) => n);
      if (own.length) this.initMissingWeights(m, new Set(own));
    }
  }

  /** Initialises parameters of `module` the checkpoint did not provide, as the model's _init_weights. */
  initMissingWeights(module: Module, names: ReadonlySet<string>): void {
    initMissingParameters(module, names, this.config.initializerRange ?? 0.02);
  }
}

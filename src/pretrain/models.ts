// Fresh models to pretrain, sized from one set of numbers whatever the architecture, with their token ids
// taken from the tokenizer trained for them. Any registered model type with a masked-LM or causal-LM class works.
import type { ModelClass, ModelFamily } from "../models/family.js";
import type { PreTrainedModel } from "../models/pretrained.js";
import { families, familyOf } from "../models/registry.js";
import type { PreTrainedTokenizer } from "../tokenizers/index.js";

/** A model_type to pretrain from scratch ("distilbert", "llama", "qwen2", ...). */
export type Architecture = string;

export interface ModelSize {
  dim: number;
  layers: number;
  heads: number;
  /** Key/value heads (grouped-query attention); default `heads`. */
  kvHeads?: number;
  /** Feed-forward width; default 4 * dim (Llama's MLP included). */
  hiddenDim?: number;
  /** Every dropout probability of the config (default: the architecture's, 0.1 except Llama's and ModernBERT's 0). */
  dropout?: number;
}

export type Objective = "mlm" | "clm";

/** The head a family pretrains: masked LM when it has one, else next token. */
export function pretrainingHead(family: ModelFamily): { objective: Objective; cls: ModelClass } {
  const { maskedLm, causalLm } = family.classes;
  if (maskedLm) return { objective: "mlm", cls: maskedLm };
  if (causalLm) return { objective: "clm", cls: causalLm };
  throw new Error(`the ${family.name} family has neither a masked-LM nor a causal-LM model to pretrain`);
}

/** The model types `pretrain --arch` accepts, masked-LM ones first. */
export function architectures(): Record<Objective, string[]> {
  const out: Record<Objective, string[]> = { mlm: [], clm: [] };
  for (const f of families()) if (f.classes.maskedLm || f.classes.causalLm) out[pretrainingHead(f).objective].push(...f.modelTypes);
  return out;
}

export function objectiveOf(arch: Architecture): Objective {
  return pretrainingHead(familyOf(arch)).objective;
}

/** A randomly initialised model (Hugging Face's _init_weights) whose vocabulary is the tokenizer's and whose
 *  longest input is `maxLength` (position embeddings; rotary models record it in their config). */
export function freshModel(arch: Architecture, size: ModelSize, maxLength: number, tokenizer: PreTrainedTokenizer): PreTrainedModel {
  if (size.dim % size.heads !== 0) throw new Error(`--dim (${size.dim}) must be a multiple of --heads (${size.heads})`);
  const family = familyOf(arch);
  const config = family.freshConfig({
    modelType: arch, vocabSize: tokenizer.length, hiddenSize: size.dim, numLayers: size.layers, numHeads: size.heads,
    numKvHeads: size.kvHeads, intermediateSize: size.hiddenDim ?? 4 * size.dim, maxPositions: maxLength, dropout: size.dropout,
    padTokenId: tokenizer.padTokenId ?? null, bosTokenId: tokenizer.bosTokenId ?? null, eosTokenId: tokenizer.eosTokenId ?? null,
  });
  // A family without grouped-query attention builds its config without the count; asking for fewer heads there
  // would silently give full attention.
  const kv = (config as { numKeyValueHeads?: number }).numKeyValueHeads ?? size.heads;
  if (size.kvHeads !== undefined && kv !== size.kvHeads) throw new Error(`--kv-heads: ${arch} has no grouped-query attention (key/value heads = --heads)`);
  return new (pretrainingHead(family).cls)(config);
}

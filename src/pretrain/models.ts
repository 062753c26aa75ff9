// Fresh models to pretrain, sized from one set of numbers whatever the architecture, with their token ids
// taken from the tokenizer trained for them.
import { BertForMaskedLM, bertConfig } from "../models/bert/index.js";
import { DistilBertForMaskedLM, distilBertConfig } from "../models/distilbert/index.js";
import { GPT2LMHeadModel, gpt2Config } from "../models/gpt2/index.js";
import { LlamaForCausalLM, llamaConfig } from "../models/llama/index.js";
import type { PreTrainedModel } from "../models/pretrained.js";
import type { PreTrainedTokenizer } from "../tokenizers/index.js";

export const ARCHITECTURES = ["distilbert", "bert", "gpt2", "llama"] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

export interface ModelSize {
  dim: number;
  layers: number;
  heads: number;
  /** Feed-forward width; default 4 * dim (Llama's MLP included). */
  hiddenDim?: number;
  /** Every dropout probability of the config (default: the architecture's, 0.1 except Llama's 0). */
  dropout?: number;
}

export type Objective = "mlm" | "clm";

export function objectiveOf(arch: Architecture): Objective {
  return arch === "distilbert" || arch === "bert" ? "mlm" : "clm";
}

/** A randomly initialised model (Hugging Face's _init_weights) whose vocabulary is the tokenizer's and whose
 *  longest input is `maxLength` (position embeddings; Llama's RoPE has none, but its config records it). */
export function freshModel(arch: Architecture, size: ModelSize, maxLength: number, tokenizer: PreTrainedTokenizer): PreTrainedModel {
  const vocabSize = tokenizer.length, hidden = size.hiddenDim ?? 4 * size.dim;
  if (size.dim % size.heads !== 0) throw new Error(`--dim (${size.dim}) must be a multiple of --heads (${size.heads})`);
  const pad = tokenizer.padTokenId ?? null;
  const p = size.dropout;
  switch (arch) {
    case "distilbert":
      return new DistilBertForMaskedLM(distilBertConfig({
        vocabSize, dim: size.dim, nLayers: size.layers, nHeads: size.heads, hiddenDim: hidden, maxPositionEmbeddings: maxLength, padTokenId: pad,
        dropout: p, attentionDropout: p,
      }));
    case "bert":
      return new BertForMaskedLM(bertConfig({
        vocabSize, hiddenSize: size.dim, numHiddenLayers: size.layers, numAttentionHeads: size.heads, intermediateSize: hidden,
        maxPositionEmbeddings: maxLength, padTokenId: pad, hiddenDropoutProb: p, attentionProbsDropoutProb: p,
      }));
    case "gpt2": {
      const eos = tokenizer.eosTokenId ?? null;
      return new GPT2LMHeadModel(gpt2Config({
        vocabSize, nEmbd: size.dim, nLayer: size.layers, nHead: size.heads, nInner: hidden, nPositions: maxLength,
        bosTokenId: tokenizer.bosTokenId ?? eos, eosTokenId: eos, padTokenId: pad, residPdrop: p, embdPdrop: p, attnPdrop: p,
      }));
    }
    case "llama":
      return new LlamaForCausalLM(llamaConfig({
        vocabSize, hiddenSize: size.dim, numHiddenLayers: size.layers, numAttentionHeads: size.heads, intermediateSize: hidden,
        maxPositionEmbeddings: maxLength, tieWordEmbeddings: true,
        bosTokenId: tokenizer.bosTokenId ?? null, eosTokenId: tokenizer.eosTokenId ?? null, padTokenId: pad, attentionDropout: p,
      }));
  }
}

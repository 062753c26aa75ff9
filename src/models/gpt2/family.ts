// GPT-2's registration (../family.ts): its classes, where its layers are, and its PEFT defaults.
import { gpt2Gguf } from "./gguf.js";
import type { ModelFamily } from "../family.js";
import { gpt2Config } from "./config.js";
import { GPT2ForSequenceClassification, GPT2LMHeadModel } from "./heads.js";
import { GPT2Model } from "./model.js";

export const gpt2Family: ModelFamily = {
  name: "gpt2",
  modelTypes: ["gpt2"],
  kind: "decoder",
  classes: { base: GPT2Model, seqCls: GPT2ForSequenceClassification, causalLm: GPT2LMHeadModel },
  layout: { blocks: "h", top: ["ln_f"], embeddings: ["wte", "wpe"] },
  peftTargets: {
    // PEFT's (c_attn is the fused query/key/value Conv1D).
    gpt2: {
      lora: ["c_attn"], ia3: ["c_attn", "mlp.c_proj"], ia3Feedforward: ["mlp.c_proj"],
      adapter: { attention: "attn.c_proj", ffn: "mlp.c_proj" },
    },
  },
  freshConfig: (s) => gpt2Config({
    vocabSize: s.vocabSize, nEmbd: s.hiddenSize, nLayer: s.numLayers, nHead: s.numHeads, nInner: s.intermediateSize,
    nPositions: s.maxPositions, bosTokenId: s.bosTokenId ?? s.eosTokenId, eosTokenId: s.eosTokenId, padTokenId: s.padTokenId,
    residPdrop: s.dropout, embdPdrop: s.dropout, attnPdrop: s.dropout, numLabels: s.numLabels,
  }),
  gguf: gpt2Gguf,
};

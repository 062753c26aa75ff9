// LlamaModel (also Mistral and Qwen2): token embeddings, pre-RMSNorm decoder layers (RoPE attention,
// SwiGLU MLP), final norm. Position information enters only through RoPE.
import { Embedding, Linear, Module, ModuleList, RMSNorm } from "../../nn/index.js";
import { Tensor, add, mul } from "../../tensor/index.js";
import type { AdditiveMask } from "../attention.js";
import { ACTIVATIONS } from "../config.js";
import { readDecoderInput, type CausalLMInput } from "../generation.js";
import type { LayerPast, ModelOutput, PeftModelFacts } from "../outputs.js";
import { PreTrainedModel } from "../pretrained.js";
import { LlamaAttention, llamaAttentionMask } from "./attention.js";
import { llamaConfigDict, llamaShape, parseLlamaConfig, type LlamaConfig } from "./config.js";
import { ropeInverseFrequencies, ropeTable, type RopeTable } from "./rope.js";

class LlamaMLP extends Module {
  readonly gateProj: Linear;
  readonly upProj: Linear;
  readonly downProj: Linear;

  constructor(readonly config: LlamaConfig) {
    super();
    const { hiddenSize: e, intermediateSize: f, mlpBias: bias } = config;
    this.gateProj = this.addModule("gate_proj", new Linear(e, f, { bias }));
    this.upProj = this.addModule("up_proj", new Linear(e, f, { bias }));
    this.downProj = this.addModule("down_proj", new Linear(f, e, { bias }));
  }

  forward(x: Tensor): Tensor {
    const act = ACTIVATIONS[this.config.hiddenAct];
    return this.downProj.forward(mul(act(this.gateProj.forward(x)), this.upProj.forward(x)));
  }
}

class LlamaDecoderLayer extends Module {
  readonly selfAttn: LlamaAttention;
  readonly mlp: LlamaMLP;
  readonly inputLayernorm: RMSNorm;
  readonly postAttentionLayernorm: RMSNorm;

  constructor(config: LlamaConfig) {
    super();
    this.selfAttn = this.addModule("self_attn", new LlamaAttention(config));
    this.mlp = this.addModule("mlp", new LlamaMLP(config));
    this.inputLayernorm = this.addModule("input_layernorm", new RMSNorm(config.hiddenSize, config.rmsNormEps));
    this.postAttentionLayernorm = this.addModule("post_attention_layernorm", new RMSNorm(config.hiddenSize, config.rmsNormEps));
  }

  forward(x: Tensor, rope: RopeTable, mask: AdditiveMask, past: LayerPast | undefined): { hidden: Tensor; present: LayerPast } {
    const { output, present } = this.selfAttn.forward(this.inputLayernorm.forward(x), rope, mask, past);
    const h = add(x, output);
    return { hidden: add(h, this.mlp.forward(this.postAttentionLayernorm.forward(h))), present };
  }
}

export abstract class LlamaPreTrainedModel extends PreTrainedModel<LlamaConfig> {
  static parseConfig = parseLlamaConfig;
  static modelShape = llamaShape;
  readonly baseModelPrefix = "model";

  override configDict(): Record<string, unknown> {
    return llamaConfigDict(this.config);
  }

  /** Older checkpoints store the rotary inverse frequencies, which are recomputed from the config. */
  override ignoredCheckpointKeys(): RegExp[] {
    return [/rotary_emb\.inv_freq$/];
  }

  peftFacts(): PeftModelFacts {
    const c = this.config;
    return { modelType: c.modelType, numLayers: c.numHiddenLayers, numAttentionHeads: c.numAttentionHeads,
      numKeyValueHeads: c.numKeyValueHeads, hiddenSize: c.hiddenSize, headDim: c.headDim, vocabSize: c.vocabSize };
  }
}

export class LlamaModel extends LlamaPreTrainedModel {
  readonly embedTokens: Embedding;
  readonly layers: ModuleList<LlamaDecoderLayer>;
  readonly norm: RMSNorm;
  private readonly invFreq: Float32Array;

  constructor(config: LlamaConfig) {
    super(config);
    this.embedTokens = this.addModule("embed_tokens", new Embedding(config.vocabSize, config.hiddenSize, config.padTokenId ?? undefined));
    this.layers = this.addModule("layers", new ModuleList(Array.from({ length: config.numHiddenLayers }, () => new LlamaDecoderLayer(config))));
    this.norm = this.addModule("norm", new RMSNorm(config.hiddenSize, config.rmsNormEps));
    this.invFreq = ropeInverseFrequencies(config.headDim, config.ropeTheta, config.ropeScaling);
    this.postInit();
  }

  /** No head: logits is the last hidden state [batch, seq, hidden]. Queries and new keys are rotated for
   *  positions pastLength + arange(seq) (or positionIds); past keys are used as given. */
  forward(input: CausalLMInput): ModelOutput {
    const c = this.config;
    const x = readDecoderInput(input, c.numHiddenLayers);
    let h = x.inputsEmbeds ?? this.embedTokens.forward(x.inputIds!);
    if (h.shape[2] !== c.hiddenSize) throw new RangeError(`inputsEmbeds must be [batch, seq, ${c.hiddenSize}], got [${h.shape}]`);
    const rope = ropeTable(this.invFreq, x.positions, x.positionRows, x.seq);
    const mask = llamaAttentionMask(x.attentionMask, x.batch, x.seq, x.pastLength, c.slidingWindow, c.numAttentionHeads / c.numKeyValueHeads, x.segments);
    const presents: LayerPast[] = [];
    this.layers.items.forEach((layer, i) => {
      const r = layer.forward(h, rope, mask, x.past[i]);
      h = r.hidden;
      presents.push(r.present);
    });
    h = this.norm.forward(h);
    return { logits: h, lastHiddenState: h, pastKeyValues: input.useCache ? presents : undefined };
  }

  getInputEmbeddings(): Embedding {
    return this.embedTokens;
  }
}

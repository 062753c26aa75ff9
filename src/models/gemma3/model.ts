// Gemma3TextModel (also Gemma 2): scaled token embeddings, decoder layers with an RMSNorm (1 + weight) before and
// after both the attention and the GeGLU MLP, final norm. Each layer is sliding-window or full attention, with
// its own mask and (Gemma 3) its own RoPE base.
import { Embedding, Module, ModuleList, RMSNorm } from "../../nn/index.js";
import { Tensor, add, scale } from "../../tensor/index.js";
import type { AdditiveMask } from "../attention.js";
import { runDecoderStack, type DecoderBlockOutput } from "../decoder-stack.js";
import { releaseIntermediates } from "../fused-layers.js";
import { readDecoderInput, type CausalLMInput } from "../generation.js";
import { LlamaAttention, llamaAttentionMask } from "../llama/attention.js";
import { LlamaMLP, decoderPeftFacts } from "../llama/model.js";
import { ropeInverseFrequencies, ropeTable, type RopeTable } from "../llama/rope.js";
import type { LayerPast, ModelOutput, PeftModelFacts } from "../outputs.js";
import { PreTrainedModel } from "../pretrained.js";
import { gemmaConfigDict, gemmaShape, parseGemmaConfig, type GemmaConfig, type GemmaModelType, type LayerType } from "./config.js";

const gemmaNorm = (dim: number, c: GemmaConfig) => new RMSNorm(dim, c.rmsNormEps, { unitOffset: true });

/** sqrt(hidden_size) as transformers keeps it: a float32 tensor. */
const embedScale = (c: GemmaConfig) => Math.fround(Math.sqrt(c.hiddenSize));

/** Gemma 3's Gemma3TextScaledWordEmbedding: the lookup times sqrt(hidden_size), for every caller of the module
 *  (PEFT's prompt methods embed the real tokens through it). */
class ScaledEmbedding extends Embedding {
  constructor(numEmbeddings: number, embeddingDim: number, paddingIdx: number | undefined, readonly factor: number) {
    super(numEmbeddings, embeddingDim, paddingIdx);
  }

  override forward(ids: Tensor): Tensor {
    return scale(super.forward(ids), this.factor);
  }
}

class GemmaDecoderLayer extends Module {
  readonly selfAttn: LlamaAttention;
  readonly mlp: LlamaMLP;
  readonly inputLayernorm: RMSNorm;
  readonly postAttentionLayernorm: RMSNorm;
  readonly preFeedforwardLayernorm: RMSNorm;
  readonly postFeedforwardLayernorm: RMSNorm;

  constructor(config: GemmaConfig, readonly layerType: LayerType) {
    super();
    this.selfAttn = this.addModule("self_attn", new LlamaAttention(config, {
      scaling: config.queryPreAttnScalar ** -0.5, softcap: config.attnLogitSoftcapping, unitOffsetNorms: true,
    }));
    this.mlp = this.addModule("mlp", new LlamaMLP(config));
    this.inputLayernorm = this.addModule("input_layernorm", gemmaNorm(config.hiddenSize, config));
    this.postAttentionLayernorm = this.addModule("post_attention_layernorm", gemmaNorm(config.hiddenSize, config));
    this.preFeedforwardLayernorm = this.addModule("pre_feedforward_layernorm", gemmaNorm(config.hiddenSize, config));
    this.postFeedforwardLayernorm = this.addModule("post_feedforward_layernorm", gemmaNorm(config.hiddenSize, config));
  }

  forward(x: Tensor, rope: RopeTable, mask: AdditiveMask, past: LayerPast | undefined): DecoderBlockOutput {
    const n1 = this.inputLayernorm.forward(x);
    const { output, present } = this.selfAttn.forward(n1, rope, mask, past);
    const a = this.postAttentionLayernorm.forward(output), h = add(x, a), n2 = this.preFeedforwardLayernorm.forward(h);
    const ffn = this.mlp.forward(n2), f = this.postFeedforwardLayernorm.forward(ffn);
    return { hidden: releaseIntermediates(add(h, f), n1, output, a, h, n2, ffn, f), present };
  }
}

/** transformers' class names, by model type and head, for config.json's "architectures". */
export const GEMMA_ARCHITECTURES: Record<GemmaModelType, { base: string; causalLm: string; seqCls: string }> = {
  gemma3_text: { base: "Gemma3TextModel", causalLm: "Gemma3ForCausalLM", seqCls: "Gemma3TextForSequenceClassification" },
  gemma2: { base: "Gemma2Model", causalLm: "Gemma2ForCausalLM", seqCls: "Gemma2ForSequenceClassification" },
};

export abstract class GemmaPreTrainedModel extends PreTrainedModel<GemmaConfig> {
  static parseConfig = parseGemmaConfig;
  static modelShape = gemmaShape;
  readonly baseModelPrefix = "model";

  override configDict(): Record<string, unknown> {
    return gemmaConfigDict(this.config);
  }

  override ignoredCheckpointKeys(): RegExp[] {
    return [/rotary_emb(_local)?\.inv_freq$/];
  }

  peftFacts(): PeftModelFacts {
    return decoderPeftFacts(this.config);
  }
}

export class Gemma3TextModel extends GemmaPreTrainedModel {
  readonly embedTokens: Embedding;
  readonly layers: ModuleList<GemmaDecoderLayer>;
  readonly norm: RMSNorm;
  private readonly invFreq: Record<LayerType, Float32Array>;

  constructor(config: GemmaConfig) {
    super(config);
    const pad = config.padTokenId ?? undefined;
    this.embedTokens = this.addModule("embed_tokens", config.embeddingScaledInModule
      ? new ScaledEmbedding(config.vocabSize, config.hiddenSize, pad, embedScale(config))
      : new Embedding(config.vocabSize, config.hiddenSize, pad));
    this.layers = this.addModule("layers", new ModuleList(config.layerTypes.map((t) => new GemmaDecoderLayer(config, t))));
    this.norm = this.addModule("norm", gemmaNorm(config.hiddenSize, config));
    const global = ropeInverseFrequencies(config.headDim, config.ropeTheta, config.ropeScaling);
    const local = config.ropeLocalTheta === null ? global : ropeInverseFrequencies(config.headDim, config.ropeLocalTheta, null);
    this.invFreq = { full_attention: global, sliding_attention: local };
    this.postInit();
  }

  override architectureName(): string {
    return GEMMA_ARCHITECTURES[this.config.modelType].base;
  }

  /** No head: logits is the last hidden state [batch, seq, hidden]. Positions are pastLength + arange(seq) (or
   *  positionIds). Past keys (a cache, or prefix tuning's prefix) sit at cache positions 0 .. pastLength - 1, so a
   *  sliding layer shows a query only those after its position minus the window, as transformers' cache does. */
  forward(input: CausalLMInput): ModelOutput {
    const c = this.config;
    const x = readDecoderInput(input, c.numHiddenLayers);
    let h = x.inputsEmbeds ?? this.embedTokens.forward(x.inputIds!);
    if (h.shape[2] !== c.hiddenSize) throw new RangeError(`inputsEmbeds must be [batch, seq, ${c.hiddenSize}], got [${h.shape}]`);
    if (!c.embeddingScaledInModule) h = scale(h, embedScale(c));
    const groups = c.numAttentionHeads / c.numKeyValueHeads;
    const perType = new Map<LayerType, { rope: RopeTable; mask: AdditiveMask }>();
    const inputsOf = (t: LayerType) => {
      let v = perType.get(t);
      if (!v) {
        const window = t === "sliding_attention" ? c.slidingWindow : null;
        v = { rope: ropeTable(this.invFreq[t], x.positions, x.positionRows, x.seq),
          mask: llamaAttentionMask(x.attentionMask, x.batch, x.seq, x.pastLength, window, groups) };
        perType.set(t, v);
      }
      return v;
    };
    return runDecoderStack(this.layers.items, h, x.past, (layer, hidden, past) => {
      const { rope, mask } = inputsOf(layer.layerType);
      return layer.forward(hidden, rope, mask, past);
    }, this.norm, input.useCache);
  }

  getInputEmbeddings(): Embedding {
    return this.embedTokens;
  }
}

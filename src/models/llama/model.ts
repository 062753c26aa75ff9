// LlamaModel (also Mistral, Qwen2, Qwen3 and Phi-3): token embeddings, pre-RMSNorm decoder layers (RoPE
// attention, SwiGLU MLP), final norm. Position information enters only through RoPE.
import { Embedding, Linear, Module, ModuleList, RMSNorm } from "../../nn/index.js";
import { Tensor, add, dropout, mul, split } from "../../tensor/index.js";
import type { AdditiveMask } from "../attention.js";
import { ACTIVATIONS } from "../config.js";
import { runDecoderStack, type DecoderBlockOutput } from "../decoder-stack.js";
import { releaseIntermediates } from "../fused-layers.js";
import { readDecoderInput, type CausalLMInput } from "../generation.js";
import type { LayerPast, ModelOutput, PeftModelFacts } from "../outputs.js";
import { PreTrainedModel } from "../pretrained.js";
import { LlamaAttention, llamaAttentionMask } from "./attention.js";
import { llamaConfigDict, llamaShape, parseLlamaConfig, type LlamaConfig } from "./config.js";
import { ropeInverseFrequencies, ropeTable, type RopeTable } from "./rope.js";

/** The gated MLP down(act(gate(x)) * up(x)): SwiGLU for Llama, GeGLU for Gemma. */
export class LlamaMLP extends Module {
  readonly gateProj?: Linear;
  readonly upProj?: Linear;
  /** Phi-3: gate_proj | up_proj as one layer. */
  readonly gateUpProj?: Linear;
  readonly downProj: Linear;

  constructor(readonly config: Pick<LlamaConfig, "hiddenSize" | "intermediateSize" | "mlpBias" | "hiddenAct" | "fusedProjections">) {
    super();
    const { hiddenSize: e, intermediateSize: f, mlpBias: bias } = config;
    if (config.fusedProjections) this.gateUpProj = this.addModule("gate_up_proj", new Linear(e, 2 * f, { bias }));
    else {
      this.gateProj = this.addModule("gate_proj", new Linear(e, f, { bias }));
      this.upProj = this.addModule("up_proj", new Linear(e, f, { bias }));
    }
    this.downProj = this.addModule("down_proj", new Linear(f, e, { bias }));
  }

  forward(x: Tensor): Tensor {
    const act = ACTIVATIONS[this.config.hiddenAct];
    const f = this.config.intermediateSize;
    const both = this.gateUpProj?.forward(x);
    const [gate, up] = both ? split(both, f, -1) : [this.gateProj!.forward(x), this.upProj!.forward(x)];
    const activated = act(gate), product = mul(activated, up);
    return releaseIntermediates(this.downProj.forward(product), ...(both ? [both] : []), gate, up, activated, product);
  }
}

class LlamaDecoderLayer extends Module {
  readonly selfAttn: LlamaAttention;
  readonly mlp: LlamaMLP;
  readonly inputLayernorm: RMSNorm;
  readonly postAttentionLayernorm: RMSNorm;

  constructor(readonly config: LlamaConfig) {
    super();
    this.selfAttn = this.addModule("self_attn", new LlamaAttention(config));
    this.mlp = this.addModule("mlp", new LlamaMLP(config));
    this.inputLayernorm = this.addModule("input_layernorm", new RMSNorm(config.hiddenSize, config.rmsNormEps));
    this.postAttentionLayernorm = this.addModule("post_attention_layernorm", new RMSNorm(config.hiddenSize, config.rmsNormEps));
  }

  forward(x: Tensor, rope: RopeTable, mask: AdditiveMask, past: LayerPast | undefined): DecoderBlockOutput {
    // Phi-3's resid_pdrop drops both sub-layers' outputs in training; it is 0 for the other model types.
    const drop = (t: Tensor) => dropout(t, this.config.residPdrop, this.training);
    const n1 = this.inputLayernorm.forward(x);
    const { output, present } = this.selfAttn.forward(n1, rope, mask, past);
    const a = drop(output), h = add(x, a), n2 = this.postAttentionLayernorm.forward(h);
    const m = this.mlp.forward(n2), f = drop(m);
    return { hidden: releaseIntermediates(add(h, f), n1, output, a, h, n2, m, f), present };
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
    return decoderPeftFacts(this.config);
  }
}

/** What PEFT reads from a Llama-style config (Gemma's too). */
export function decoderPeftFacts(c: Pick<LlamaConfig, "numHiddenLayers" | "numAttentionHeads" | "numKeyValueHeads" | "hiddenSize" |
  "headDim" | "vocabSize"> & { modelType: string }): PeftModelFacts {
  return { modelType: c.modelType, numLayers: c.numHiddenLayers, numAttentionHeads: c.numAttentionHeads,
    numKeyValueHeads: c.numKeyValueHeads, hiddenSize: c.hiddenSize, headDim: c.headDim, vocabSize: c.vocabSize };
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
    this.invFreq = ropeInverseFrequencies(config.rotaryDim, config.ropeTheta, config.ropeScaling);
    this.postInit();
  }

  /** No head: logits is the last hidden state [batch, seq, hidden]. Queries and new keys are rotated for
   *  positions pastLength + arange(seq) (or positionIds); past keys are used as given. */
  forward(input: CausalLMInput): ModelOutput {
    const c = this.config;
    const x = readDecoderInput(input, c.numHiddenLayers);
    const h = x.inputsEmbeds ?? this.embedTokens.forward(x.inputIds!);
    if (h.shape[2] !== c.hiddenSize) throw new RangeError(`inputsEmbeds must be [batch, seq, ${c.hiddenSize}], got [${h.shape}]`);
    const rope = ropeTable(this.invFreq, x.positions, x.positionRows, x.seq);
    const mask = llamaAttentionMask(x.attentionMask, x.batch, x.seq, x.pastLength, c.slidingWindow, c.numAttentionHeads / c.numKeyValueHeads, x.segments);
    return runDecoderStack(this.layers.items, h, x.past, (layer, hidden, past) => layer.forward(hidden, rope, mask, past), this.norm, input.useCache);
  }

  getInputEmbeddings(): Embedding {
    return this.embedTokens;
  }
}

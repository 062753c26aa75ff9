// ModernBertModel (transformers' modeling_modernbert, the eager attention path, which is the reference for the
// numbers; the flash-attention path unpads the batch to the same result): token embeddings and a LayerNorm, no
// position table; pre-LN blocks (the first without attn_norm, the embeddings' norm being right before it) with a
// fused Wqkv, RoPE, global attention every global_attn_every_n_layers-th layer and a sliding window on the others,
// a GeGLU MLP; final_norm. Prefix tuning passes per-layer past keys/values, which HF's ModernBERT does not take:
// they are used as the other families use them (not rotated, visible to every query, positions after them).
import { Dropout, Embedding, LayerNorm, Linear, Module, ModuleList, init } from "../../nn/index.js";
import { Tensor, add, mul, slice } from "../../tensor/index.js";
import { FLOAT32_MIN, attend, mergeHeads, paddingMask, splitHeads, type AdditiveMask } from "../attention.js";
import { ACTIVATIONS } from "../config.js";
import { prepareEncoderInputs } from "../encoder.js";
import { releaseIntermediates } from "../fused-layers.js";
import { withPast } from "../kv-cache.js";
import { applyRope, ropeInverseFrequencies, ropeTable, type RopeTable } from "../llama/rope.js";
import type { LayerPast, ModelInput, ModelOutput, PeftModelFacts } from "../outputs.js";
import { PreTrainedModel } from "../pretrained.js";
import { isGlobalLayer, modernBertConfigDict, modernBertShape, parseModernBertConfig, type ModernBertConfig } from "./config.js";

/** Every LayerNorm of the model: norm_eps, and a bias only with norm_bias. */
export function modernBertNorm(c: ModernBertConfig): LayerNorm {
  return new LayerNorm(c.hiddenSize, c.normEps, { bias: c.normBias });
}

class ModernBertEmbeddings extends Module {
  readonly tokEmbeddings: Embedding;
  readonly norm: LayerNorm;
  readonly drop: Dropout;

  constructor(config: ModernBertConfig) {
    super();
    this.tokEmbeddings = this.addModule("tok_embeddings", new Embedding(config.vocabSize, config.hiddenSize, config.padTokenId ?? undefined));
    this.norm = this.addModule("norm", modernBertNorm(config));
    this.drop = this.addModule("drop", new Dropout(config.embeddingDropout));
  }

  /** inputsEmbeds replace the lookup; the norm applies either way. */
  forward(inputIds: Tensor | null, inputsEmbeds: Tensor | null): Tensor {
    return this.drop.forward(this.norm.forward(inputsEmbeds ?? this.tokEmbeddings.forward(inputIds!)));
  }
}

/** The global layers' mask hides padding, (1 - mask)·min; the local layers' also hides the keys more than
 *  `window` positions from the query (masked_fill with min, as HF builds sliding_window_mask). A prefix of `past`
 *  keys is hidden by neither. */
export function modernBertMasks(padding: Tensor, seq: number, past: number, window: number): { global: AdditiveMask; local: AdditiveMask } {
  const global = paddingMask(padding, "add");
  const { batch, keys } = global;
  const data = new Float32Array(batch * seq * keys);
  for (let b = 0; b < batch; b++) for (let q = 0; q < seq; q++) {
    const o = (b * seq + q) * keys;
    for (let k = 0; k < keys; k++) data[o + k] = k >= past && Math.abs(k - past - q) > window ? FLOAT32_MIN : global.data[b * keys + k];
  }
  return { global, local: { data, batch, rows: seq, keys } };
}

class ModernBertAttention extends Module {
  readonly wqkv: Linear;
  readonly wo: Linear;
  readonly outDrop: Dropout;

  constructor(readonly config: ModernBertConfig) {
    super();
    const h = config.hiddenSize, bias = config.attentionBias;
    this.wqkv = this.addModule("Wqkv", new Linear(h, 3 * h, { bias }));
    this.wo = this.addModule("Wo", new Linear(h, h, { bias }));
    this.outDrop = this.addModule("out_drop", new Dropout(config.attentionDropout));
  }

  forward(x: Tensor, rope: RopeTable, mask: AdditiveMask, past: LayerPast | undefined): Tensor {
    const { hiddenSize: h, numAttentionHeads: heads, headDim } = this.config;
    const qkv = this.wqkv.forward(x);
    // Wqkv writes [q | k | v], each heads x headDim.
    const part = (i: number) => splitHeads(slice(qkv, 2, i * h, (i + 1) * h), heads);
    const { key, value, length } = withPast(past, applyRope(part(1), rope), part(2));
    // transformers multiplies the scores by float32(head_dim ** -0.5); dividing by its inverse rounds alike.
    const ctx = attend(applyRope(part(0), rope), key, value, mask,
      { divisor: 1 / Math.fround(headDim ** -0.5), dropoutP: this.config.attentionDropout, training: this.training, keys: length });
    return this.outDrop.forward(this.wo.forward(mergeHeads(ctx)));
  }
}

/** GeGLU: Wi's output halves are the input and the gate, Wo(act(input) · gate). */
class ModernBertMLP extends Module {
  readonly wi: Linear;
  readonly drop: Dropout;
  readonly wo: Linear;

  constructor(readonly config: ModernBertConfig) {
    super();
    const { hiddenSize: h, intermediateSize: f, mlpBias: bias } = config;
    this.wi = this.addModule("Wi", new Linear(h, 2 * f, { bias }));
    this.drop = this.addModule("drop", new Dropout(config.mlpDropout));
    this.wo = this.addModule("Wo", new Linear(f, h, { bias }));
  }

  forward(x: Tensor): Tensor {
    const f = this.config.intermediateSize, both = this.wi.forward(x), last = both.ndim - 1;
    const input = slice(both, last, 0, f), gate = slice(both, last, f, 2 * f);
    const activated = ACTIVATIONS[this.config.hiddenActivation](input), product = mul(activated, gate);
    const dropped = this.drop.forward(product);
    return releaseIntermediates(this.wo.forward(dropped), both, input, gate, activated, product, dropped);
  }
}

class ModernBertEncoderLayer extends Module {
  /** null in layer 0 (nn.Identity there: no parameters). */
  readonly attnNorm: LayerNorm | null;
  readonly attn: ModernBertAttention;
  readonly mlpNorm: LayerNorm;
  readonly mlp: ModernBertMLP;

  constructor(config: ModernBertConfig, index: number) {
    super();
    this.attnNorm = index === 0 ? null : this.addModule("attn_norm", modernBertNorm(config));
    this.attn = this.addModule("attn", new ModernBertAttention(config));
    this.mlpNorm = this.addModule("mlp_norm", modernBertNorm(config));
    this.mlp = this.addModule("mlp", new ModernBertMLP(config));
  }

  forward(x: Tensor, rope: RopeTable, mask: AdditiveMask, past: LayerPast | undefined): Tensor {
    const n1 = this.attnNorm ? this.attnNorm.forward(x) : x, a = this.attn.forward(n1, rope, mask, past);
    const h = add(x, a), n2 = this.mlpNorm.forward(h), m = this.mlp.forward(n2);
    return releaseIntermediates(add(h, m), ...(n1 === x ? [] : [n1]), a, h, n2, m);
  }
}

/** ModernBERT's _init_weights: truncated normals (± initializer_cutoff_factor · std), the std by the layer's
 *  place; null for layers the shared rules cover (norms). */
function initStd(c: ModernBertConfig, name: string): number | null {
  switch (name) {
    case "tok_embeddings": case "Wqkv": case "Wi": return c.initializerRange;
    case "Wo": case "dense": case "decoder": return c.initializerRange / Math.sqrt(2 * c.numHiddenLayers);
    case "classifier": return c.hiddenSize ** -0.5;
    default: return null;
  }
}

export abstract class ModernBertPreTrainedModel extends PreTrainedModel<ModernBertConfig> {
  static parseConfig = parseModernBertConfig;
  static modelShape = modernBertShape;
  readonly baseModelPrefix = "model";

  override configDict(): Record<string, unknown> {
    return modernBertConfigDict(this.config);
  }

  /** Rotary inverse frequencies are recomputed from the config. */
  override ignoredCheckpointKeys(): RegExp[] {
    return [/rotary_emb\.inv_freq$/];
  }

  override initMissingWeights(module: Module, names: ReadonlySet<string>): void {
    const path = [...this.namedModules()].find(([, m]) => m === module)?.[0] ?? "";
    const std = initStd(this.config, path.slice(path.lastIndexOf(".") + 1));
    if (std === null || !(module instanceof Linear || module instanceof Embedding)) return super.initMissingWeights(module, names);
    // The whole table, padding row included: ModernBERT's init draws it too.
    const cutoff = (this.config.initializerCutoffFactor ?? 3) * std;
    if (names.has("weight")) init.truncNormal_(module.weight, 0, std, -cutoff, cutoff);
    if (module instanceof Linear && module.bias && names.has("bias")) init.constant_(module.bias, 0);
  }

  peftFacts(): PeftModelFacts {
    const c = this.config;
    return { modelType: "modernbert", numLayers: c.numHiddenLayers, numAttentionHeads: c.numAttentionHeads,
      numKeyValueHeads: c.numAttentionHeads, hiddenSize: c.hiddenSize, headDim: c.headDim, vocabSize: c.vocabSize };
  }
}

export class ModernBertModel extends ModernBertPreTrainedModel {
  readonly embeddings: ModernBertEmbeddings;
  readonly layers: ModuleList<ModernBertEncoderLayer>;
  readonly finalNorm: LayerNorm;
  private readonly invFreq: { global: Float32Array; local: Float32Array };

  constructor(config: ModernBertConfig) {
    super(config);
    this.embeddings = this.addModule("embeddings", new ModernBertEmbeddings(config));
    this.layers = this.addModule("layers", new ModuleList(Array.from({ length: config.numHiddenLayers }, (_, i) => new ModernBertEncoderLayer(config, i))));
    this.finalNorm = this.addModule("final_norm", modernBertNorm(config));
    this.invFreq = {
      global: ropeInverseFrequencies(config.headDim, config.globalRopeTheta, null),
      local: ropeInverseFrequencies(config.headDim, config.localRopeTheta, null),
    };
    this.postInit();
  }

  /** No head: logits is the last hidden state [batch, seq, hidden], after final_norm. */
  forward(input: ModelInput): ModelOutput {
    const c = this.config;
    const x = prepareEncoderInputs(input, c.numHiddenLayers, c.maxPositionEmbeddings);
    if (x.inputsEmbeds && x.inputsEmbeds.shape[2] !== c.hiddenSize)
      throw new RangeError(`inputsEmbeds must be [batch, seq, ${c.hiddenSize}], got [${x.inputsEmbeds.shape}]`);
    let h = this.embeddings.forward(x.inputIds, x.inputsEmbeds);
    const positions = x.positionIds.data;
    const rope = { global: ropeTable(this.invFreq.global, positions, 1, x.seq), local: ropeTable(this.invFreq.local, positions, 1, x.seq) };
    const mask = modernBertMasks(x.attentionMask, x.seq, x.pastLength, Math.floor(c.localAttention / 2));
    this.layers.items.forEach((layer, i) => {
      const kind = isGlobalLayer(c, i) ? "global" : "local";
      h = layer.forward(h, rope[kind], mask[kind], x.past[i]);
    });
    h = this.finalNorm.forward(h);
    return { logits: h, lastHiddenState: h };
  }

  getInputEmbeddings(): Embedding {
    return this.embeddings.tokEmbeddings;
  }
}

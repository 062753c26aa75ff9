// GPT2Model: token + learned position embeddings, pre-LN blocks (attention, gelu_new MLP), final ln_f.
import { Conv1D, Dropout, Embedding, LayerNorm, Module, ModuleList, init } from "../../nn/index.js";
import { Tensor, add, asTensor } from "../../tensor/index.js";
import type { AdditiveMask } from "../attention.js";
import { runDecoderStack, type DecoderBlockOutput } from "../decoder-stack.js";
import { linearActivation, releaseIntermediates } from "../fused-layers.js";
import { readDecoderInput, type CausalLMInput } from "../generation.js";
import type { LayerPast, ModelOutput, PeftModelFacts } from "../outputs.js";
import { PreTrainedModel } from "../pretrained.js";
import { GPT2Attention, gpt2AttentionMask } from "./attention.js";
import { gpt2ConfigDict, gpt2Shape, parseGPT2Config, type GPT2Config } from "./config.js";

class GPT2MLP extends Module {
  readonly cFc: Conv1D;
  readonly cProj: Conv1D;
  readonly dropout: Dropout;

  constructor(readonly config: GPT2Config) {
    super();
    this.cFc = this.addModule("c_fc", new Conv1D(config.innerSize, config.nEmbd));
    this.cProj = this.addModule("c_proj", new Conv1D(config.nEmbd, config.innerSize));
    this.dropout = this.addModule("dropout", new Dropout(config.residPdrop));
  }

  forward(x: Tensor): Tensor {
    const h = linearActivation(this.cFc, this.config.activationFunction, x);
    return this.dropout.forward(releaseIntermediates(this.cProj.forward(h), h));
  }
}

class GPT2Block extends Module {
  readonly ln1: LayerNorm;
  readonly attn: GPT2Attention;
  readonly ln2: LayerNorm;
  readonly mlp: GPT2MLP;

  constructor(config: GPT2Config, layerIdx: number) {
    super();
    this.ln1 = this.addModule("ln_1", new LayerNorm(config.nEmbd, config.layerNormEpsilon));
    this.attn = this.addModule("attn", new GPT2Attention(config, layerIdx));
    this.ln2 = this.addModule("ln_2", new LayerNorm(config.nEmbd, config.layerNormEpsilon));
    this.mlp = this.addModule("mlp", new GPT2MLP(config));
  }

  forward(x: Tensor, mask: AdditiveMask, past: LayerPast | undefined): DecoderBlockOutput {
    const n1 = this.ln1.forward(x);
    const { output, present } = this.attn.forward(n1, mask, past);
    const h = releaseIntermediates(add(x, output), n1, output);
    const n2 = this.ln2.forward(h);
    const f = releaseIntermediates(this.mlp.forward(n2), n2);
    return { hidden: releaseIntermediates(add(h, f), h, f), present };
  }
}

export abstract class GPT2PreTrainedModel extends PreTrainedModel<GPT2Config> {
  static parseConfig = parseGPT2Config;
  static modelShape = gpt2Shape;
  readonly baseModelPrefix = "transformer";

  override configDict(): Record<string, unknown> {
    return gpt2ConfigDict(this.config);
  }

  /** GPT-2's scheme on top of the usual one: the projections that write into the residual stream (c_proj)
   *  get std / sqrt(2 * n_layer), so the stream's variance does not grow with depth. */
  override initWeights(): void {
    super.initWeights();
    const std = (this.config.initializerRange ?? 0.02) / Math.sqrt(2 * this.config.nLayer);
    for (const [name, p] of this.namedParameters()) if (name.endsWith("c_proj.weight")) init.normal_(p, 0, std);
  }

  /** Old checkpoints store the causal-mask buffers (transformers' _keys_to_ignore_on_load_unexpected). */
  override ignoredCheckpointKeys(): RegExp[] {
    return [/(^|\.)attn\.(masked_)?bias$/];
  }

  peftFacts(): PeftModelFacts {
    const c = this.config;
    return { modelType: "gpt2", numLayers: c.nLayer, numAttentionHeads: c.nHead, numKeyValueHeads: c.nHead,
      hiddenSize: c.nEmbd, headDim: c.headDim, vocabSize: c.vocabSize };
  }
}

export class GPT2Model extends GPT2PreTrainedModel {
  readonly wte: Embedding;
  readonly wpe: Embedding;
  readonly drop: Dropout;
  readonly h: ModuleList<GPT2Block>;
  readonly lnF: LayerNorm;

  constructor(config: GPT2Config) {
    super(config);
    this.wte = this.addModule("wte", new Embedding(config.vocabSize, config.nEmbd));
    this.wpe = this.addModule("wpe", new Embedding(config.nPositions, config.nEmbd));
    this.drop = this.addModule("drop", new Dropout(config.embdPdrop));
    this.h = this.addModule("h", new ModuleList(Array.from({ length: config.nLayer }, (_, i) => new GPT2Block(config, i))));
    this.lnF = this.addModule("ln_f", new LayerNorm(config.nEmbd, config.layerNormEpsilon));
    this.postInit();
  }

  /** No head: logits is the last hidden state [batch, seq, n_embd]. Positions are pastLength + arange(seq)
   *  unless positionIds says otherwise; inputsEmbeds (prompt tuning) gets positions like token ids do. */
  forward(input: CausalLMInput): ModelOutput {
    const c = this.config;
    const x = readDecoderInput(input, c.nLayer);
    const maxPos = x.positions.reduce((a, b) => Math.max(a, b), 0);
    if (maxPos >= c.nPositions)
      throw new RangeError(`GPT-2 has ${c.nPositions} positions (n_positions); this input reaches position ${maxPos} (${x.pastLength} past + ${x.seq} new tokens)`);
    const embeds = x.inputsEmbeds ?? this.wte.forward(x.inputIds!);
    if (embeds.shape[2] !== c.nEmbd) throw new RangeError(`inputsEmbeds must be [batch, seq, ${c.nEmbd}], got [${embeds.shape}]`);
    let h = add(embeds, this.wpe.forward(new Tensor(x.positions, [x.positionRows, x.seq])));
    if (input.tokenTypeIds !== undefined) h = add(h, this.wte.forward(asTensor(input.tokenTypeIds, "int32")));
    h = this.drop.forward(h);
    const mask = gpt2AttentionMask(x.attentionMask, x.batch, x.seq, x.pastLength, x.segments);
    return runDecoderStack(this.h.items, h, x.past, (block, hidden, past) => block.forward(hidden, mask, past), this.lnF, input.useCache);
  }

  getInputEmbeddings(): Embedding {
    return this.wte;
  }
}

// PEFT's PromptEncoder (P-tuning): a table of virtual tokens reparameterized by an MLP, or by a
// bidirectional LSTM and an MLP. Only the output is saved, so an encoder created for inference is the
// table alone, as in PEFT.
import { Embedding, LSTM, Linear, Module, ReLU, Sequential } from "../../../nn/index.js";
import { Tensor, arange, reshape } from "../../../tensor/index.js";
import type { PromptEncoderModule, PromptTuner } from "../../tuner.js";
import { PromptEncoderConfig } from "./config.js";

export class PromptEncoder extends Module implements PromptEncoderModule {
  readonly embedding: Embedding;
  readonly lstmHead: LSTM | null = null;
  readonly mlpHead: Sequential | null = null;
  private readonly indices: Tensor;

  constructor(config: PromptEncoderConfig) {
    super();
    const total = config.numVirtualTokens! * config.numTransformerSubmodules!;
    const td = config.tokenDim!, h = config.encoderHiddenSize!;
    this.embedding = this.addModule("embedding", new Embedding(total, td));
    this.indices = arange(total);
    if (config.inferenceMode) return;
    if (config.encoderReparameterizationType === "LSTM") {
      this.lstmHead = this.addModule("lstm_head", new LSTM(td, h, { numLayers: config.encoderNumLayers, bidirectional: true }));
      this.mlpHead = this.addModule("mlp_head", new Sequential(new Linear(2 * h, 2 * h), ReLU(), new Linear(2 * h, td)));
    } else {
      this.mlpHead = this.addModule("mlp_head", new Sequential(new Linear(td, h), ReLU(), new Linear(h, h), ReLU(), new Linear(h, td)));
    }
  }

  forward(): Tensor {
    let x = this.embedding.forward(this.indices);
    if (this.lstmHead) x = reshape(this.lstmHead.forward(reshape(x, [1, ...x.shape])), [x.shape[0], -1]);
    return this.mlpHead ? this.mlpHead.forward(x) : x;
  }

  setOutputTable(table: Tensor): void {
    if (this.mlpHead)
      throw new Error("P-tuning: the saved prompt_embeddings are the encoder's output; a trainable encoder cannot be " +
        "rebuilt from them. Load the adapter for inference, or restore embedding and mlp_head weights themselves.");
    this.embedding.weight.copy_(table);
  }
}

export const pTuningTuner: PromptTuner<PromptEncoderConfig> = {
  kind: "prompt",
  feeds: "inputsEmbeds",
  createEncoder: (config) => new PromptEncoder(config),
};

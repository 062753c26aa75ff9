// PEFT's PrefixEncoder: per virtual token, every layer's key and value, [nvt, layers * 2 * token_dim];
// either a table, or a table of token_dim vectors projected by Linear -> Tanh -> Linear. Only the output
// is saved, so an encoder created for inference is the output table alone, as in PEFT.
import { Embedding, Linear, Module, Sequential, Tanh, init } from "../../../nn/index.js";
import { Tensor, arange } from "../../../tensor/index.js";
import type { PromptEncoderModule, PromptTuner } from "../../tuner.js";
import { PrefixTuningConfig } from "./config.js";

export class PrefixEncoder extends Module implements PromptEncoderModule {
  readonly embedding: Embedding;
  readonly transform: Sequential | null = null;
  private readonly indices: Tensor;

  constructor(config: PrefixTuningConfig) {
    super();
    const nvt = config.numVirtualTokens!, td = config.tokenDim!, out = config.numLayers! * 2 * td;
    this.indices = arange(nvt);
    if (config.prefixProjection && !config.inferenceMode) {
      this.embedding = this.addModule("embedding", new Embedding(nvt, td));
      const last = new Linear(config.encoderHiddenSize!, out);
      this.transform = this.addModule("transform", new Sequential(new Linear(td, config.encoderHiddenSize!), Tanh(), last));
      if (config.initWeights === "zero") for (const p of last.parameters()) init.constant_(p, 0);
    } else {
      this.embedding = this.addModule("embedding", new Embedding(nvt, out));
      if (config.initWeights === "zero") init.constant_(this.embedding.weight, 0);
    }
  }

  forward(): Tensor {
    const x = this.embedding.forward(this.indices);
    return this.transform ? this.transform.forward(x) : x;
  }

  setOutputTable(table: Tensor): void {
    if (this.transform)
      throw new Error("prefix tuning: the saved prompt_embeddings are the projection's output; a trainable projection " +
        "cannot be rebuilt from them. Load the adapter for inference, or restore embedding and transform weights themselves.");
    this.embedding.weight.copy_(table);
  }
}

export const prefixTuningTuner: PromptTuner<PrefixTuningConfig> = {
  kind: "prompt",
  feeds: "pastKeyValues",
  createEncoder: (config) => new PrefixEncoder(config),
};

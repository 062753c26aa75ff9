// Text generation from a causal LM, with or without an adapter. Injected adapters (LoRA, IA3, bottleneck)
// change the model's own layers, so the key/value cache works as usual. Prompt-learning adapters put
// virtual tokens in front of every forward pass, which the cache cannot hold, so they rerun the whole
// sequence at each step: slower, and the same tokens.
import { generateTokens, type CausalLM, type GenerateOptions } from "../../models/generation.js";
import type { PreTrainedModel } from "../../models/index.js";
import { PeftModel } from "../../peft/index.js";
import { Tensor, asTensor, cat } from "../../tensor/index.js";
import type { PreTrainedTokenizer } from "../../tokenizers/index.js";

export async function generateText(model: PreTrainedModel | PeftModel, tokenizer: PreTrainedTokenizer, prompt: string, opts: GenerateOptions): Promise<string> {
  const ids = await tokenizer.encode(prompt);
  if (ids.length === 0) throw new Error("the prompt has no tokens");
  const out = generateTokens(causalLm(model), [ids], opts);
  return tokenizer.decode(Array.from(out.data.subarray(ids.length)), { skipSpecialTokens: true });
}

function causalLm(model: PreTrainedModel | PeftModel): CausalLM {
  const base = model instanceof PeftModel ? model.model : model;
  const config = base.config as unknown as CausalLM["config"];
  if (!("eosTokenId" in config)) throw new Error(`${base.constructor.name} is not a causal language model`);
  if (!(model instanceof PeftModel) || model.kind === "inject") return { config, forward: (input) => model.forward(input) };
  let sequence: Tensor | null = null;
  return {
    config,
    forward(input) {
      const ids = asTensor(input.inputIds!, "int32");
      sequence = input.pastKeyValues && sequence ? cat([sequence, ids], 1) : ids;
      // An empty cache keeps generateTokens feeding one new token per step; the sequence lives here.
      return { logits: model.forward({ inputIds: sequence, attentionMask: input.attentionMask }).logits, pastKeyValues: [] };
    },
  };
}

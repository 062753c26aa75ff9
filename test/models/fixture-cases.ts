// What the encoder and decoder fixture tests share: the forward check, the full and last-layers training
// steps, and the two ways the PEFT prompt methods reach a model (keys/values through pastKeyValues,
// virtual tokens through inputsEmbeds).
import { test } from "node:test";
import { basename } from "node:path";
import { setBackend } from "../../src/backend/index.js";
import type { LayerPast } from "../../src/models/outputs.js";
import type { PreTrainedModel } from "../../src/models/pretrained.js";
import { Tensor, cat, expand, ones, permute, reshape, slice, tensor } from "../../src/tensor/index.js";
import { assertCloseRel, assertStepMatches, type FixtureInputs, fixtureTrainable, loadTensors } from "../helpers/fixtures.js";

export const BACKENDS = ["typescript", "native"] as const;
export type Backend = (typeof BACKENDS)[number];

/** PEFT's prefix table [nvt, layers * 2 * tokenDim] as per-layer keys/values [batch, heads, nvt, tokenDim / heads]:
 *  flat index ((layer * 2 + kv) * heads + head) * headDim + d. */
export function prefixPast(table: Tensor, layers: number, heads: number, batch: number): LayerPast[] {
  const nvt = table.shape[0], headDim = table.shape[1] / (layers * 2 * heads);
  const slots = permute(reshape(table, [nvt, layers * 2, heads, headDim]), [1, 2, 0, 3]);
  const slot = (i: number) => expand(slice(slots, 0, i, i + 1), [batch, heads, nvt, headDim]);
  return Array.from({ length: layers }, (_, i) => ({ key: slot(2 * i), value: slot(2 * i + 1) }));
}

/** The attention mask with `nvt` always-visible virtual tokens in front. */
export function withVirtualTokens(mask: number[][], nvt: number): Tensor {
  return cat([ones([mask.length, nvt]), tensor(mask)], 1);
}

/** Prompt tuning's input: the prompt table [nvt, dim] in front of every row's word embeddings, as the model's
 *  embedding module gives them (PEFT calls the module: Gemma 3's scales). */
export function promptedEmbeds(m: PreTrainedModel, prompts: Tensor, inputIds: number[][]): Tensor {
  const words = m.getInputEmbeddings().forward(tensor(inputIds, { dtype: "int32" }));
  return cat([expand(reshape(prompts, [1, ...prompts.shape]), [inputIds.length, ...prompts.shape]), words], 1);
}

/** The forward pass, and full and last-layers training (`lastLayers` picks the modules the latter trains).
 *  `fixture`: a folder name under test/fixtures/hf, or a fixture folder's path. */
export function forwardAndTrainingTests(fixture: string, backend: Backend, load: () => Promise<PreTrainedModel>, inputs: FixtureInputs, lastLayers: (m: PreTrainedModel) => string[]): void {
  test(`${basename(fixture)} forward matches transformers (${backend})`, async () => {
    setBackend(backend);
    const m = await load();
    const ref = loadTensors(fixture, "expected.safetensors");
    const out = m.forward(inputs);
    assertCloseRel("logits", out.logits, ref.get("logits")!);
    // A classifier returns the whole last hidden state only when asked (it otherwise computes just what its head reads).
    const hidden = out.lastHiddenState ?? m.forward({ ...inputs, outputLastHiddenState: true }).lastHiddenState!;
    assertCloseRel("last_hidden_state", hidden, ref.get("last_hidden_state")!);
    if (ref.has("pooler_output")) assertCloseRel("pooler_output", out.poolerOutput!, ref.get("pooler_output")!);
    assertCloseRel("loss", out.loss!, ref.get("loss")!);
  });

  for (const method of ["full", "last-layers"]) {
    test(`${basename(fixture)} ${method}: gradients and one AdamW step (${backend})`, async () => {
      setBackend(backend);
      const m = await load();
      if (method === "last-layers") {
        m.requiresGrad(false);
        for (const path of lastLayers(m)) m.getSubmodule(path).requiresGrad(true);
      }
      const trainable = fixtureTrainable(fixture, method, m);
      assertStepMatches(fixture, method, m.forward(inputs), trainable, { noiseDecided: true });
    });
  }
}

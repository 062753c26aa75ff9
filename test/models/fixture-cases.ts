// What the encoder and decoder fixture tests share: the forward check, the full and last-layers training
// steps, and the two ways the PEFT prompt methods reach a model (keys/values through pastKeyValues,
// virtual tokens through inputsEmbeds).
import assert from "node:assert/strict";
import { test } from "node:test";
import { setBackend } from "../../src/backend/index.js";
import type { LayerPast } from "../../src/models/outputs.js";
import type { PreTrainedModel } from "../../src/models/pretrained.js";
import { AdamW } from "../../src/optim/index.js";
import { Tensor, cat, embedding, expand, ones, permute, reshape, slice, tensor } from "../../src/tensor/index.js";
import { assertCloseRel, assertTrainingStep, type FixtureInputs, loadJson, loadTensors, withNoiseDecidedEntries } from "../helpers/fixtures.js";

export const BACKENDS = ["typescript", "native"] as const;
export type Backend = (typeof BACKENDS)[number];

/** The optimizer every fixture's AdamW step was generated with. */
export function fixtureAdamW(params: Tensor[]): AdamW {
  return new AdamW(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 });
}

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

/** Prompt tuning's input: the prompt table [nvt, dim] in front of every row's word embeddings. */
export function promptedEmbeds(m: PreTrainedModel, prompts: Tensor, inputIds: number[][]): Tensor {
  const words = embedding(m.getInputEmbeddings().weight, tensor(inputIds, { dtype: "int32" }));
  return cat([expand(reshape(prompts, [1, ...prompts.shape]), [inputIds.length, ...prompts.shape]), words], 1);
}

/** Logits and loss against the fixture's, then gradients and one AdamW step of `trainable` against it.
 *  `noiseDecided` also checks loosely the entries whose first step float noise decides (full and last layers
 *  train thousands of weights; a few beyond those the fixture marks unstable are expected, many would hide a
 *  real difference). */
export function assertStepMatches(fixture: string, method: string, out: { logits: Tensor; loss?: Tensor }, trainable: Map<string, Tensor>, { noiseDecided = false } = {}): void {
  let ref = loadTensors(fixture, method, "expected.safetensors");
  assertCloseRel("logits", out.logits, ref.get("logits")!);
  assertCloseRel("loss", out.loss!, ref.get("loss")!);
  out.loss!.backward();
  if (noiseDecided) {
    const checked = withNoiseDecidedEntries(ref, trainable);
    assert.ok(checked.added <= 4, `${checked.added} noise-decided AdamW entries beyond unstable.*`);
    ref = checked.ref;
  }
  const opt = fixtureAdamW([...trainable.values()]);
  assertTrainingStep(ref, trainable, () => opt.step());
}

/** The forward pass, and full and last-layers training (`lastLayers` picks the modules the latter trains). */
export function forwardAndTrainingTests(fixture: string, backend: Backend, load: () => Promise<PreTrainedModel>, inputs: FixtureInputs, lastLayers: (m: PreTrainedModel) => string[]): void {
  test(`${fixture} forward matches transformers (${backend})`, async () => {
    setBackend(backend);
    const m = await load();
    const ref = loadTensors(fixture, "expected.safetensors");
    const out = m.forward(inputs);
    assertCloseRel("logits", out.logits, ref.get("logits")!);
    assertCloseRel("last_hidden_state", out.lastHiddenState!, ref.get("last_hidden_state")!);
    if (ref.has("pooler_output")) assertCloseRel("pooler_output", out.poolerOutput!, ref.get("pooler_output")!);
    assertCloseRel("loss", out.loss!, ref.get("loss")!);
  });

  for (const method of ["full", "last-layers"]) {
    test(`${fixture} ${method}: gradients and one AdamW step (${backend})`, async () => {
      setBackend(backend);
      const m = await load();
      if (method === "last-layers") {
        m.requiresGrad(false);
        for (const path of lastLayers(m)) m.getSubmodule(path).requiresGrad(true);
      }
      const trainable = new Map([...m.namedParameters()].filter(([, p]) => p.requiresGrad));
      const spec = loadJson(fixture, method, "method.json") as { trainable_parameters: Record<string, number[]> };
      assert.deepEqual([...trainable.keys()].sort(), Object.keys(spec.trainable_parameters).sort());
      assertStepMatches(fixture, method, m.forward(inputs), trainable, { noiseDecided: true });
    });
  }
}

// The fixture checks shared by the GPT-2 and Llama tests, run once per backend: forward, full and
// last-layers training steps, and the two PEFT hooks (prefix tuning through pastKeyValues, prompt
// tuning through inputsEmbeds).
import assert from "node:assert/strict";
import { test } from "node:test";
import { setBackend } from "../../src/backend/index.js";
import type { LayerPast } from "../../src/models/outputs.js";
import type { PreTrainedModel } from "../../src/models/pretrained.js";
import { AdamW } from "../../src/optim/index.js";
import { Tensor, cat, embedding, expand, ones, permute, reshape, slice, tensor } from "../../src/tensor/index.js";
import { assertCloseRel, assertTrainingStep, fixtureDir, loadInputs, loadJson, loadTensors, withNoiseDecidedEntries } from "../helpers/fixtures.js";

export const BACKENDS = ["typescript", "native"] as const;

export interface DecoderCase {
  model: "gpt2" | "llama";
  /** Loads the fixture model (the causal-LM class's fromPretrained). */
  load: (dir: string) => Promise<PreTrainedModel>;
  /** Module paths trained by the last-layers method. */
  lastLayers: string[];
}

function adamw(params: Tensor[]): AdamW {
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

export function decoderFixtureTests({ model, load: loadFrom, lastLayers }: DecoderCase): void {
  const load = () => loadFrom(fixtureDir(model));
  const inputs = loadInputs(model);
  const batch = inputs.inputIds.length;

  for (const backend of BACKENDS) {
    test(`${model} forward matches transformers (${backend})`, async () => {
      setBackend(backend);
      const m = await load();
      const ref = loadTensors(model, "expected.safetensors");
      const out = m.forward(inputs);
      assertCloseRel("logits", out.logits, ref.get("logits")!);
      assertCloseRel("last_hidden_state", out.lastHiddenState!, ref.get("last_hidden_state")!);
      assertCloseRel("loss", out.loss!, ref.get("loss")!);
    });

    for (const method of ["full", "last-layers"]) {
      test(`${model} ${method}: gradients and one AdamW step (${backend})`, async () => {
        setBackend(backend);
        const m = await load();
        if (method === "last-layers") {
          m.requiresGrad(false);
          for (const path of lastLayers) m.getSubmodule(path).requiresGrad(true);
        }
        const ref = loadTensors(model, method, "expected.safetensors");
        const trainable = new Map([...m.namedParameters()].filter(([, p]) => p.requiresGrad));
        const spec = loadJson(model, method, "method.json") as { trainable_parameters: Record<string, number[]> };
        assert.deepEqual([...trainable.keys()].sort(), Object.keys(spec.trainable_parameters).sort());
        const out = m.forward(inputs);
        assertCloseRel("logits", out.logits, ref.get("logits")!);
        assertCloseRel("loss", out.loss!, ref.get("loss")!);
        out.loss!.backward();
        const opt = adamw([...trainable.values()]);
        const checked = withNoiseDecidedEntries(ref, trainable);
        assert.ok(checked.added <= 4, `${checked.added} noise-decided AdamW entries beyond unstable.*`);
        assertTrainingStep(checked.ref, trainable, () => opt.step());
      });
    }

    test(`${model} prefix tuning through pastKeyValues (${backend})`, async () => {
      setBackend(backend);
      const m = await load();
      m.requiresGrad(false);
      const table = loadTensors(model, "prefix-tuning", "trainable_params.safetensors").get("prompt_encoder.default.embedding.weight")!;
      table.setRequiresGrad();
      // PEFT's layout: for GQA models num_attention_heads is the number of key/value heads.
      const peft = loadJson(model, "prefix-tuning", "adapter_config.json") as { num_layers: number; num_attention_heads: number; token_dim: number };
      assert.equal(peft.num_attention_heads, m.peftFacts().numKeyValueHeads);
      assert.equal(peft.token_dim, m.peftFacts().numKeyValueHeads * m.peftFacts().headDim);
      const nvt = table.shape[0];
      const out = m.forward({
        inputIds: inputs.inputIds,
        attentionMask: cat([ones([batch, nvt]), tensor(inputs.attentionMask)], 1),
        labels: inputs.labels,
        pastKeyValues: prefixPast(table, peft.num_layers, peft.num_attention_heads, batch),
      });
      const ref = loadTensors(model, "prefix-tuning", "expected.safetensors");
      assertCloseRel("logits", out.logits, ref.get("logits")!);
      assertCloseRel("loss", out.loss!, ref.get("loss")!);
      out.loss!.backward();
      const opt = adamw([table]);
      assertTrainingStep(ref, new Map([["prompt_encoder.default.embedding.weight", table]]), () => opt.step());
    });

    test(`${model} prompt tuning through inputsEmbeds (${backend})`, async () => {
      setBackend(backend);
      const m = await load();
      m.requiresGrad(false);
      const prompts = loadTensors(model, "prompt-tuning", "trainable_params.safetensors").get("prompt_encoder.default.embedding.weight")!;
      prompts.setRequiresGrad();
      const nvt = prompts.shape[0];
      const words = embedding(m.getInputEmbeddings().weight, tensor(inputs.inputIds, { dtype: "int32" }));
      const labels = (inputs.labels as number[][]).map((row) => [...new Array<number>(nvt).fill(-100), ...row]);
      const out = m.forward({
        inputsEmbeds: cat([expand(reshape(prompts, [1, ...prompts.shape]), [batch, ...prompts.shape]), words], 1),
        attentionMask: cat([ones([batch, nvt]), tensor(inputs.attentionMask)], 1),
        labels,
      });
      const ref = loadTensors(model, "prompt-tuning", "expected.safetensors");
      assertCloseRel("logits", out.logits, ref.get("logits")!);
      assertCloseRel("loss", out.loss!, ref.get("loss")!);
      out.loss!.backward();
      const opt = adamw([prompts]);
      assertTrainingStep(ref, new Map([["prompt_encoder.default.embedding.weight", prompts]]), () => opt.step());
    });

    test(`${model} cached forward in two chunks equals one forward (${backend})`, async () => {
      setBackend(backend);
      const m = await load();
      const full = m.forward({ inputIds: inputs.inputIds, attentionMask: inputs.attentionMask });
      const cut = 4;
      const first = m.forward({ inputIds: inputs.inputIds.map((r) => r.slice(0, cut)), attentionMask: inputs.attentionMask.map((r) => r.slice(0, cut)), useCache: true });
      assert.equal(first.pastKeyValues!.length, m.peftFacts().numLayers);
      assert.deepEqual(first.pastKeyValues![0].key.shape, [batch, m.peftFacts().numKeyValueHeads, cut, m.peftFacts().headDim]);
      const second = m.forward({ inputIds: inputs.inputIds.map((r) => r.slice(cut)), attentionMask: inputs.attentionMask, pastKeyValues: first.pastKeyValues });
      assertCloseRel("logits", cat([first.logits, second.logits], 1), full.logits);
    });
  }
}

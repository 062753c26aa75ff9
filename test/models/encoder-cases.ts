// The fixture checks shared by the DistilBERT and BERT tests, run once per backend.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setBackend } from "../../src/backend/index.js";
import type { PreTrainedModel } from "../../src/models/pretrained.js";
import type { LayerPast } from "../../src/models/outputs.js";
import { AdamW } from "../../src/optim/index.js";
import { Tensor, cat, embedding, expand, ones, permute, reshape, slice, tensor } from "../../src/tensor/index.js";
import { assertCloseRel, assertTrainingStep, fixtureDir, loadInputs, loadJson, loadTensors, withNoiseDecidedEntries } from "../helpers/fixtures.js";

export const BACKENDS = ["typescript", "native"] as const;

type Cls = { fromPretrained(pathOrId: string): Promise<PreTrainedModel> };

/** PEFT's in-memory names of the trained head -> the model's names. */
function headName(peftName: string): string | null {
  const m = /^base_model\.(.+)\.modules_to_save\.default\.(weight|bias)$/.exec(peftName);
  return m ? `${m[1]}.${m[2]}` : null;
}

function adamw(params: Tensor[]): AdamW {
  return new AdamW(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 });
}

/** Prefix tuning's table [nvt, layers * 2 * hidden] as per-layer keys/values [batch, heads, nvt, headDim]. */
function prefixPast(table: Tensor, layers: number, heads: number, batch: number): LayerPast[] {
  const nvt = table.shape[0], headDim = table.shape[1] / (layers * 2 * heads);
  const slots = permute(reshape(table, [nvt, layers * 2, heads, headDim]), [1, 2, 0, 3]);
  const slot = (i: number) => expand(slice(slots, 0, i, i + 1), [batch, heads, nvt, headDim]);
  return Array.from({ length: layers }, (_, i) => ({ key: slot(2 * i), value: slot(2 * i + 1) }));
}

export function encoderFixtureTests(model: string, cls: Cls): void {
  const load = () => cls.fromPretrained(fixtureDir(model));
  const inputs = loadInputs(model);

  for (const backend of BACKENDS) {
    test(`${model} forward matches transformers (${backend})`, async () => {
      setBackend(backend);
      const m = await load();
      const ref = loadTensors(model, "expected.safetensors");
      const out = m.forward(inputs);
      assertCloseRel("logits", out.logits, ref.get("logits")!);
      assertCloseRel("last_hidden_state", out.lastHiddenState!, ref.get("last_hidden_state")!);
      if (ref.has("pooler_output")) assertCloseRel("pooler_output", out.poolerOutput!, ref.get("pooler_output")!);
      assertCloseRel("loss", out.loss!, ref.get("loss")!);
    });

    for (const method of ["full", "last-layers"]) {
      test(`${model} ${method}: gradients and one AdamW step (${backend})`, async () => {
        setBackend(backend);
        const m = await load();
        if (method === "last-layers") {
          m.requiresGrad(false);
          for (const name of m.classifierModules()) m.getSubmodule(name).requiresGrad(true);
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
      const init = loadTensors(model, "prefix-tuning", "trainable_params.safetensors");
      const trainable = new Map<string, Tensor>();
      for (const [name, t] of init) {
        const own = headName(name);
        const p = own ? m.stateDict().get(own)! : t.setRequiresGrad();
        if (own) p.copy_(t).requiresGrad = true;
        trainable.set(name, p);
      }
      const facts = m.peftFacts();
      const table = trainable.get("prompt_encoder.default.embedding.weight")!;
      const batch = inputs.inputIds.length, nvt = table.shape[0];
      const out = m.forward({
        inputIds: inputs.inputIds,
        attentionMask: cat([ones([batch, nvt]), tensor(inputs.attentionMask)], 1),
        labels: inputs.labels,
        pastKeyValues: prefixPast(table, facts.numLayers, facts.numAttentionHeads, batch),
      });
      const ref = loadTensors(model, "prefix-tuning", "expected.safetensors");
      assertCloseRel("logits", out.logits, ref.get("logits")!);
      assertCloseRel("loss", out.loss!, ref.get("loss")!);
      out.loss!.backward();
      const opt = adamw([...trainable.values()]);
      assertTrainingStep(ref, trainable, () => opt.step());
    });

    test(`${model} prompt tuning through inputsEmbeds (${backend})`, async () => {
      setBackend(backend);
      const m = await load();
      const init = loadTensors(model, "prompt-tuning", "trainable_params.safetensors");
      for (const [name, t] of init) {
        const own = headName(name);
        if (own) m.stateDict().get(own)!.copy_(t);
      }
      const prompts = init.get("prompt_encoder.default.embedding.weight")!;
      const batch = inputs.inputIds.length, nvt = prompts.shape[0];
      const words = embedding(m.getInputEmbeddings().weight, tensor(inputs.inputIds, { dtype: "int32" }));
      const out = m.forward({
        inputsEmbeds: cat([expand(reshape(prompts, [1, ...prompts.shape]), [batch, ...prompts.shape]), words], 1),
        attentionMask: cat([ones([batch, nvt]), tensor(inputs.attentionMask)], 1),
        labels: inputs.labels,
      });
      const ref = loadTensors(model, "prompt-tuning", "expected.safetensors");
      assertCloseRel("logits", out.logits, ref.get("logits")!);
      assertCloseRel("loss", out.loss!, ref.get("loss")!);
    });
  }
}

// The fixture checks shared by the DistilBERT and BERT tests, run once per backend.
import assert from "node:assert/strict";
import { basename } from "node:path";
import { test } from "node:test";
import { setBackend } from "../../src/backend/index.js";
import type { PreTrainedModel } from "../../src/models/pretrained.js";
import { slice, type Tensor } from "../../src/tensor/index.js";
import { assertCloseRel, assertGradClose, assertStepMatches, fixtureDir, loadInputs, loadTensors } from "../helpers/fixtures.js";
import { BACKENDS, forwardAndTrainingTests, prefixPast, promptedEmbeds, withVirtualTokens } from "./fixture-cases.js";

type Cls = { fromPretrained(pathOrId: string): Promise<PreTrainedModel> };

/** PEFT's in-memory names of the trained head -> the model's names (a head module's own tensors, or those of its
 *  layers: RoBERTa's classifier.dense and classifier.out_proj). */
function headName(peftName: string): string | null {
  const m = /^base_model\.(.+)\.modules_to_save\.default\.(.+)$/.exec(peftName);
  return m ? `${m[1]}.${m[2]}` : null;
}

/** `model`: a folder name under test/fixtures/hf, or a fixture folder's path (a freshly generated one). */
export function encoderFixtureTests(model: string, cls: Cls): void {
  const label = basename(model);
  const load = () => cls.fromPretrained(fixtureDir(model));
  const inputs = loadInputs(model);

  for (const backend of BACKENDS) {
    forwardAndTrainingTests(model, backend, load, inputs, (m) => m.classifierModules());

    test(`${label} prefix tuning through pastKeyValues (${backend})`, async () => {
      setBackend(backend);
      const m = await load();
      m.requiresGrad(false);
      // The fixture trains the prefix table and the classifier head (PEFT's modules_to_save).
      const trainable = new Map<string, Tensor>();
      for (const [name, t] of loadTensors(model, "prefix-tuning", "trainable_params.safetensors")) {
        const own = headName(name);
        const p = own ? m.stateDict().get(own)! : t.setRequiresGrad();
        if (own) p.copy_(t).requiresGrad = true;
        trainable.set(name, p);
      }
      const facts = m.peftFacts();
      const table = trainable.get("prompt_encoder.default.embedding.weight")!;
      const batch = inputs.inputIds.length;
      const out = m.forward({
        inputIds: inputs.inputIds,
        attentionMask: withVirtualTokens(inputs.attentionMask, table.shape[0]),
        labels: inputs.labels,
        pastKeyValues: prefixPast(table, facts.numLayers, facts.numAttentionHeads, batch),
      });
      assertStepMatches(model, "prefix-tuning", out, trainable);
    });

    test(`${label} prompt tuning through inputsEmbeds (${backend})`, async () => {
      setBackend(backend);
      const m = await load();
      const init = loadTensors(model, "prompt-tuning", "trainable_params.safetensors");
      for (const [name, t] of init) {
        const own = headName(name);
        if (own) m.stateDict().get(own)!.copy_(t);
      }
      const prompts = init.get("prompt_encoder.default.embedding.weight")!;
      const out = m.forward({
        inputsEmbeds: promptedEmbeds(m, prompts, inputs.inputIds),
        attentionMask: withVirtualTokens(inputs.attentionMask, prompts.shape[0]),
        labels: inputs.labels,
      });
      const ref = loadTensors(model, "prompt-tuning", "expected.safetensors");
      assertCloseRel("logits", out.logits, ref.get("logits")!);
      assertCloseRel("loss", out.loss!, ref.get("loss")!);
    });

    test(`${label} classifier: the last layer for the position the head reads gives the whole layer's logits and gradients (${backend})`, async () => {
      setBackend(backend);
      const m = (await load()).eval(); // the same dropout masks cannot be drawn for fewer rows
      const run = (outputLastHiddenState: boolean) => {
        m.zeroGrad();
        const out = m.forward({ inputIds: inputs.inputIds, attentionMask: inputs.attentionMask, labels: inputs.labels, outputLastHiddenState });
        out.loss!.backward();
        return { out, grads: new Map([...m.namedParameters()].map(([name, p]) => [name, p.grad!.clone()])) };
      };
      const whole = run(true), read = run(false);
      const [batch, seq] = [inputs.inputIds.length, inputs.inputIds[0].length];
      assert.deepEqual(whole.out.lastHiddenState!.shape, [batch, seq, m.peftFacts().hiddenSize]);
      assertCloseRel("logits", read.out.logits, whole.out.logits, 1e-5);
      for (const [name, g] of whole.grads) assertGradClose(name, read.grads.get(name)!, g);
    });

    test(`${label}: outputLastHiddenState "first" gives the whole last layer's position 0, computed alone where the head reads no more (${backend})`, async () => {
      setBackend(backend);
      const m = (await load()).eval();
      const [batch, seq, hidden] = [inputs.inputIds.length, inputs.inputIds[0].length, m.peftFacts().hiddenSize];
      const forward = (outputLastHiddenState: boolean | "first") =>
        m.forward({ inputIds: inputs.inputIds, attentionMask: inputs.attentionMask, outputLastHiddenState });
      const whole = forward(true), first = forward("first");
      assert.deepEqual(first.lastHiddenState!.shape, [batch, m.headReads() === "first" ? 1 : seq, hidden]);
      assertCloseRel("logits", first.logits, whole.logits, 1e-5);
      const rowZero = (h: Tensor) => h.shape[1] === 1 ? h : slice(h, 1, 0, 1);
      assertCloseRel("position 0", rowZero(first.lastHiddenState!), rowZero(whole.lastHiddenState!), 1e-5);
    });
  }
}

// The fixture checks shared by the GPT-2 and Llama tests, run once per backend: forward, full and
// last-layers training steps, and the two PEFT hooks (prefix tuning through pastKeyValues, prompt
// tuning through inputsEmbeds).
import assert from "node:assert/strict";
import { test } from "node:test";
import { setBackend } from "../../src/backend/index.js";
import type { PreTrainedModel } from "../../src/models/pretrained.js";
import { cat } from "../../src/tensor/index.js";
import { basename } from "node:path";
import { assertCloseRel, assertStepMatches, fixtureDir, loadInputs, loadJson, loadTensors } from "../helpers/fixtures.js";
import { BACKENDS, forwardAndTrainingTests, prefixPast, promptedEmbeds, withVirtualTokens } from "./fixture-cases.js";

export { BACKENDS };

export interface DecoderCase {
  /** The fixture: a folder name under test/fixtures/hf, or a fixture folder's path (a freshly generated one). */
  model: string;
  /** Loads the fixture model (the causal-LM class's fromPretrained). */
  load: (dir: string) => Promise<PreTrainedModel>;
  /** Module paths trained by the last-layers method. */
  lastLayers: string[];
}

export function decoderFixtureTests({ model, load: loadFrom, lastLayers }: DecoderCase): void {
  const load = () => loadFrom(fixtureDir(model));
  const inputs = loadInputs(model);
  const batch = inputs.inputIds.length;
  const TABLE = "prompt_encoder.default.embedding.weight";
  const label = basename(model);

  for (const backend of BACKENDS) {
    forwardAndTrainingTests(model, backend, load, inputs, () => lastLayers);

    test(`${label} prefix tuning through pastKeyValues (${backend})`, async () => {
      setBackend(backend);
      const m = await load();
      m.requiresGrad(false);
      const table = loadTensors(model, "prefix-tuning", "trainable_params.safetensors").get(TABLE)!.setRequiresGrad();
      // PEFT's layout: for GQA models num_attention_heads is the number of key/value heads.
      const peft = loadJson(model, "prefix-tuning", "adapter_config.json") as { num_layers: number; num_attention_heads: number; token_dim: number };
      assert.equal(peft.num_attention_heads, m.peftFacts().numKeyValueHeads);
      assert.equal(peft.token_dim, m.peftFacts().numKeyValueHeads * m.peftFacts().headDim);
      const out = m.forward({
        inputIds: inputs.inputIds,
        attentionMask: withVirtualTokens(inputs.attentionMask, table.shape[0]),
        labels: inputs.labels,
        pastKeyValues: prefixPast(table, peft.num_layers, peft.num_attention_heads, batch),
      });
      assertStepMatches(model, "prefix-tuning", out, new Map([[TABLE, table]]));
    });

    test(`${label} prompt tuning through inputsEmbeds (${backend})`, async () => {
      setBackend(backend);
      const m = await load();
      m.requiresGrad(false);
      const prompts = loadTensors(model, "prompt-tuning", "trainable_params.safetensors").get(TABLE)!.setRequiresGrad();
      const nvt = prompts.shape[0];
      const labels = (inputs.labels as number[][]).map((row) => [...new Array<number>(nvt).fill(-100), ...row]);
      const out = m.forward({ inputsEmbeds: promptedEmbeds(m, prompts, inputs.inputIds), attentionMask: withVirtualTokens(inputs.attentionMask, nvt), labels });
      assertStepMatches(model, "prompt-tuning", out, new Map([[TABLE, prompts]]));
    });

    test(`${label} cached forward in two chunks equals one forward (${backend})`, async () => {
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

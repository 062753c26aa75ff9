// The family registry: every model type resolves to one family whose declarations fit its real models, a
// family is refused when it clashes or leaves a model type without PEFT targets, and the size guard covers
// every registered model type (no family is unknown to it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AutoModel, families, familyOf, registerFamily, supportedModelTypes, type ModelFamily } from "../../src/models/index.js";
import { modelLayout } from "../../src/models/layout.js";
import { Conv1D, Linear } from "../../src/nn/index.js";
import { tempDir } from "../io/fixtures.js";

const tiny = (family: ModelFamily, modelType: string) => family.freshConfig({
  modelType, vocabSize: 50, hiddenSize: 16, numLayers: 2, numHeads: 4, intermediateSize: 32, maxPositions: 32,
  padTokenId: 0, bosTokenId: 1, eosTokenId: 2, numLabels: 3,
});

test("every supported model type has one family, Mistral and Qwen2 the Llama one", () => {
  for (const t of ["distilbert", "bert", "gpt2", "llama", "mistral", "qwen2"]) assert.ok(supportedModelTypes().includes(t), t);
  assert.equal(new Set(families().flatMap((f) => f.modelTypes)).size, supportedModelTypes().length, "each model type in one family");
  assert.equal(familyOf("mistral"), familyOf("llama"));
  assert.equal(familyOf("qwen2").peftTargets.qwen2.ia3[0], "q_proj", "PEFT scales Qwen2's queries, Llama's keys");
  assert.throws(() => familyOf("t5"), new RegExp(`model_type is "t5", which is not supported \\(supported: ${supportedModelTypes().join(", ")}\\)`));
});

test("each family's layout and PEFT targets name modules its models have", () => {
  for (const family of families()) {
    for (const modelType of family.modelTypes) {
      const config = tiny(family, modelType);
      assert.equal(config.modelType, modelType);
      for (const cls of Object.values(family.classes)) {
        const model = new cls(config);
        const where = `${modelType} ${cls.name}`;
        const layout = modelLayout(model);
        assert.equal(layout.blocks.length, 2, `${where}: ${family.layout.blocks}`);
        assert.equal(layout.embeddings.length, family.layout.embeddings.length, `${where}: ${family.layout.embeddings}`);
        const targets = family.peftTargets[modelType];
        const block = model.getSubmodule(layout.blocks[0]);
        for (const p of [targets.adapter.attention, targets.adapter.ffn]) {
          const m = block.getSubmodule(p);
          assert.ok(m instanceof Linear || m instanceof Conv1D, `${where}: adapter place ${p}`);
        }
        const names = [...block.namedModules()].map(([n]) => n);
        for (const t of [...targets.lora, ...targets.ia3]) assert.ok(names.some((n) => n === t || n.endsWith(`.${t}`)), `${where}: target ${t}`);
      }
    }
  }
});

test("a family is refused when a model type is taken or lacks its PEFT targets", () => {
  const llama = familyOf("llama");
  assert.throws(() => registerFamily({ ...llama, name: "copy", modelTypes: ["mistral"] }), /model_type "mistral" of family copy is already registered by family llama/);
  assert.throws(() => registerFamily({ ...llama, name: "nosuch", modelTypes: ["nosuch"] }), /family nosuch declares model_type "nosuch" without its PEFT targets/);
  const bad = { ...llama.peftTargets.llama, ia3Feedforward: ["up_proj"] };
  assert.throws(() => registerFamily({ ...llama, name: "odd", modelTypes: ["odd"], peftTargets: { odd: bad } }), /IA3 feed-forward modules of "odd" must be IA3 targets too; not targeted: up_proj/);
  assert.ok(!supportedModelTypes().some((t) => ["nosuch", "odd"].includes(t)), "nothing of a refused family is registered");
});

test("a config whose model could not be held is refused before allocating, for every registered model type", async () => {
  const { dir, cleanup } = await tempDir("registry-size");
  try {
    for (const family of families()) {
      for (const modelType of family.modelTypes) {
        const config = family.freshConfig({
          modelType, vocabSize: 9_000_000, hiddenSize: 65_536, numLayers: 1, numHeads: 64, intermediateSize: 4, maxPositions: 8,
          padTokenId: null, bosTokenId: null, eosTokenId: null,
        });
        const folder = join(dir, modelType);
        await mkdir(folder);
        await writeFile(join(folder, "config.json"), JSON.stringify(config.raw));
        await assert.rejects(AutoModel.fromPretrained(folder), /config\.json: the token embeddings \(vocab_size x hidden\) tensor would hold 5\.90e\+11 values/, modelType);
      }
    }
  } finally {
    await cleanup();
  }
});

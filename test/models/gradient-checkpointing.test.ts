// Gradient checkpointing against the plain path on every fixture family: the same loss and the same gradient
// for every trainable tensor (full fine-tuning, LoRA with dropout inside the blocks, prefix tuning whose keys
// enter every block from outside), and a graph that keeps one node per block instead of the block's ops.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { test } from "node:test";
import { setBackend } from "../../src/backend/index.js";
import { AutoModelForCausalLM, AutoModelForSequenceClassification, isGradientCheckpointing, setGradientCheckpointing } from "../../src/models/index.js";
import type { PreTrainedModel } from "../../src/models/pretrained.js";
import { LoraConfig, PrefixTuningConfig, getPeftModel, type PeftModel } from "../../src/peft/index.js";
import { type Tensor, manualSeed } from "../../src/tensor/index.js";
import { FIXTURES, fixtureDir, loadInputs, loadJson } from "../helpers/fixtures.js";
import { BACKENDS } from "./fixture-cases.js";

const METHODS = ["full", "lora", "prefix"] as const;
type Method = (typeof METHODS)[number];

interface Run { loss: number; grads: Map<string, Float32Array>; nodes: Map<string, number> }

/** How many graph nodes of each op the loss hangs from. */
function graphNodes(root: Tensor): Map<string, number> {
  const counts = new Map<string, number>(), seen = new Set<Tensor>([root]), stack = [root];
  while (stack.length) {
    const t = stack.pop()!;
    if (!t.gradFn) continue;
    counts.set(t.gradFn.name, (counts.get(t.gradFn.name) ?? 0) + 1);
    for (const x of t.gradFn.inputs) if (!seen.has(x)) { seen.add(x); stack.push(x); }
  }
  return counts;
}

async function run(family: string, method: Method, checkpointed: boolean): Promise<Run> {
  const causal = (loadJson(family, "config.json").architectures as string[])[0].match(/CausalLM|LMHead/) !== null;
  manualSeed(0);
  const base: PreTrainedModel = await (causal ? AutoModelForCausalLM : AutoModelForSequenceClassification).fromPretrained(fixtureDir(family));
  const taskType = causal ? "CAUSAL_LM" : "SEQ_CLS";
  const model: PreTrainedModel | PeftModel = method === "full" ? base
    : getPeftModel(base, method === "lora" ? new LoraConfig({ taskType, r: 4, loraAlpha: 8, loraDropout: 0.1 })
      : new PrefixTuningConfig({ taskType, numVirtualTokens: 3 }));
  setGradientCheckpointing(base, checkpointed);
  assert.equal(isGradientCheckpointing(base), checkpointed);
  model.train();
  manualSeed(1);
  const loss = model.forward(loadInputs(family)).loss!;
  const nodes = graphNodes(loss);
  loss.backward();
  const grads = new Map<string, Float32Array>();
  for (const [name, p] of model.namedParameters()) if (p.requiresGrad) grads.set(name, Float32Array.from(p.grad!.data));
  return { loss: loss.item(), grads, nodes };
}

const families = readdirSync(FIXTURES, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);

for (const family of families) for (const backend of BACKENDS) {
  test(`${family}: gradient checkpointing matches the plain path (full, lora, prefix; ${backend})`, async () => {
    setBackend(backend);
    for (const method of METHODS) {
      const plain = await run(family, method, false), ckpt = await run(family, method, true);
      const layers = ckpt.nodes.get("checkpoint") ?? 0;
      assert.ok(layers > 0, `${method}: no checkpointed block in the graph`);
      const size = (r: Run) => [...r.nodes.values()].reduce((a, b) => a + b, 0);
      assert.ok(size(ckpt) < size(plain), `${method}: checkpointed graph has ${size(ckpt)} nodes, plain ${size(plain)}`);
      assert.ok(Math.abs(ckpt.loss - plain.loss) <= 1e-6 * Math.abs(plain.loss), `${method}: loss ${ckpt.loss} vs ${plain.loss}`);
      assert.deepEqual([...ckpt.grads.keys()], [...plain.grads.keys()]);
      for (const [name, g] of plain.grads) {
        const c = ckpt.grads.get(name)!;
        let diff = 0, scale = 0;
        g.forEach((v, i) => { diff = Math.max(diff, Math.abs(v - c[i])); scale = Math.max(scale, Math.abs(v)); });
        assert.ok(diff <= 1e-6 * scale + 1e-9, `${method} ${name}: max difference ${diff} at scale ${scale}`);
      }
    }
  });
}

test("a clone of a checkpointed model checkpoints its own blocks, and eval mode runs them plainly", async () => {
  setBackend("native");
  const original = await AutoModelForCausalLM.fromPretrained(fixtureDir("llama"));
  setGradientCheckpointing(original);
  const copy = original.clone().train();
  assert.ok(isGradientCheckpointing(copy));
  const inputs = loadInputs("llama");
  const loss = copy.forward(inputs).loss!;
  assert.ok((graphNodes(loss).get("checkpoint") ?? 0) > 0);
  loss.backward();
  assert.ok(copy.parameters().every((p) => p.peekGrad() !== null), "every parameter of the clone has a gradient");
  assert.ok(original.parameters().every((p) => p.peekGrad() === null), "the original's parameters have none");
  assert.equal(graphNodes(copy.eval().forward(inputs).loss!).get("checkpoint"), undefined);
  setGradientCheckpointing(original, false);
  assert.ok(!isGradientCheckpointing(original));
});

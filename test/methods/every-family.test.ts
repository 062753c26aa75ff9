// Every registered model type (mistral and qwen2 included) with every fine-tuning method, on a tiny fresh model of
// it: the method sets up as the CLI sets it up, one AdamW step moves the method's own tensors, and nothing it
// freezes changes. The feature method extracts pooled features and fits a classifier on them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { methodNames, prepareMethod, type MethodName, type Task } from "../../src/cli/methods.js";
import { LogisticRegression, countParameters, defaultPooling, extractFeatures } from "../../src/methods/index.js";
import { modelLayout } from "../../src/models/layout.js";
import { families, type ModelClass, type ModelFamily, type PreTrainedModel } from "../../src/models/index.js";
import { AdamW } from "../../src/optim/index.js";
import { PeftModel } from "../../src/peft/index.js";
import { Tensor, manualSeed } from "../../src/tensor/index.js";
import type { PreTrainedTokenizer } from "../../src/tokenizers/index.js";
import { loadBertTokenizer, loadSentiment } from "./real-data.js";

const TEXTS = loadSentiment(8);
let tokenizer: PreTrainedTokenizer | undefined;
const bert = async () => (tokenizer ??= await loadBertTokenizer());

function tinyModel(family: ModelFamily, modelType: string, cls: ModelClass, vocabSize: number): PreTrainedModel {
  manualSeed(0);
  return new cls(family.freshConfig({
    modelType, vocabSize, hiddenSize: 16, numLayers: 2, numHeads: 4, intermediateSize: 32, maxPositions: 64,
    padTokenId: 0, bosTokenId: 101, eosTokenId: 102, numLabels: 2,
  }));
}

async function batch(task: Task) {
  const enc = await (await bert()).call(TEXTS.texts, { padding: true, truncation: true, maxLength: 24 });
  const shape = [TEXTS.texts.length, enc.inputIds[0].length];
  const ids = Int32Array.from(enc.inputIds.flat()), mask = Int32Array.from(enc.attentionMask.flat());
  const labels = task === "seq-cls" ? new Tensor(TEXTS.labels, [shape[0]]) : new Tensor(ids.map((id, i) => (mask[i] ? id : -100)), shape);
  return { inputIds: new Tensor(ids, shape), attentionMask: new Tensor(mask, shape), labels };
}

/** The tensors each method trains of its own (besides the head PEFT methods train for classifiers). */
function ownTensors(method: MethodName, model: PreTrainedModel): (name: string) => boolean {
  const layout = modelLayout(model);
  const heads = model.classifierModules().length ? model.classifierModules() : ["lm_head"];
  const under = (paths: string[]) => (n: string) => paths.some((p) => n.startsWith(`${p}.`));
  switch (method) {
    case "head": return under(heads);
    case "last-layers": return under([layout.blocks.at(-1)!]);
    case "full": return under(layout.embeddings);
    case "lora": return (n) => /\.lora_[AB]\.default\./.test(n);
    case "ia3": return (n) => /\.ia3_l\.default$/.test(n);
    case "adapter": return (n) => /\.adapter_(down|up)\.default\./.test(n);
    default: return (n) => n.startsWith("prompt_encoder.");
  }
}

async function trainOneStep(family: ModelFamily, modelType: string, task: Task, method: MethodName): Promise<void> {
  const cls = task === "seq-cls" ? family.classes.seqCls! : family.classes.causalLm!;
  const model = tinyModel(family, modelType, cls, (await bert()).length);
  if (method === "head" && model.tiedKeys().includes("lm_head.weight")) {
    // An lm_head tied to the frozen embeddings has nothing of its own to train: a clear error, not a silent no-op.
    await assert.rejects(prepareMethod(model, method, {}, { task, baseModel: "tiny", tokenizer: await bert() }), /nothing to train/);
    return;
  }
  const prepared = await prepareMethod(model, method, { layers: 1, numVirtualTokens: 4, bottleneckSize: 4 }, { task, baseModel: "tiny", tokenizer: await bert() });
  const { trainable, all } = countParameters(prepared);
  assert.ok(trainable > 0 && (method === "full" ? trainable === all : trainable < all), `${trainable} of ${all} parameters train`);
  if (method === "last-layers") {
    const names = [...prepared.namedParameters()].filter(([, p]) => p.requiresGrad).map(([n]) => n);
    const layout = modelLayout(model);
    assert.ok(!names.some((n) => [layout.blocks[0], ...layout.embeddings].some((p) => n.startsWith(`${p}.`))), "the first block and the embeddings stay frozen");
  }
  const params = [...prepared.namedParameters()];
  const before = params.map(([, p]) => Float32Array.from(p.data));
  prepared.train();
  const loss = prepared.forward(await batch(task)).loss!;
  assert.ok(Number.isFinite(loss.item()), `loss ${loss.item()}`);
  loss.backward();
  new AdamW(params.filter(([, p]) => p.requiresGrad).map(([, p]) => p), { lr: 1e-2, weightDecay: 0 }).step();
  const own = ownTensors(method, prepared instanceof PeftModel ? prepared.model : model);
  const moved = (k: number) => params[k][1].data.some((v, i) => v !== before[k][i]);
  // PeftModel names its base model's tensors base_model.model.<name> (injected) or base_model.<name> (prompts).
  const local = (name: string) => name.replace(/^base_model\.(model\.)?/, "");
  assert.ok(params.some(([n], k) => own(local(n)) && moved(k)), `none of ${method}'s own tensors moved`);
  params.forEach(([n, p], k) => { if (!p.requiresGrad) assert.ok(!moved(k), `frozen ${n} changed`); });
}

async function featureBased(family: ModelFamily, modelType: string): Promise<void> {
  const base = tinyModel(family, modelType, family.classes.base, (await bert()).length);
  const pooling = defaultPooling(base);
  assert.equal(pooling, family.kind === "decoder" ? "last" : "cls");
  const X = await extractFeatures(base, await bert(), TEXTS.texts, { maxLength: 24 });
  assert.deepEqual(X.shape, [TEXTS.texts.length, 16]);
  assert.ok(X.data.every(Number.isFinite));
  assert.deepEqual([...X.data], [...(await extractFeatures(base, await bert(), TEXTS.texts, { maxLength: 24, pooling })).data]);
  const clf = new LogisticRegression().fit(X, TEXTS.labels);
  assert.equal(clf.predict(X).length, TEXTS.texts.length);
}

for (const family of families()) {
  for (const modelType of family.modelTypes) {
    const tasks: Task[] = [...(family.classes.seqCls ? ["seq-cls" as const] : []), ...(family.classes.causalLm ? ["causal-lm" as const] : [])];
    for (const task of tasks) {
      for (const method of methodNames()) {
        if (method === "feature") {
          if (task === "seq-cls") test(`${modelType} feature: pooled features and a classifier`, () => featureBased(family, modelType));
          continue;
        }
        test(`${modelType} ${task} ${method}: one step trains what the method trains`, () => trainOneStep(family, modelType, task, method));
      }
    }
  }
}

// IA3 and bottleneck adapters train a tiny random DistilBERT on real sentences: the loss falls and
// every frozen parameter stays bit-identical.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DistilBertForSequenceClassification, distilBertConfig } from "../../src/models/index.js";
import { AdamW } from "../../src/optim/index.js";
import { AdapterConfig, IA3Config, getPeftModel, type PeftConfig } from "../../src/peft/index.js";
import { Tensor, manualSeed, noGrad } from "../../src/tensor/index.js";
import { loadBertTokenizer, loadSentiment } from "../methods/real-data.js";

async function sentimentBatch(rows: number) {
  const { texts, labels } = loadSentiment(rows);
  const enc = await (await loadBertTokenizer()).call(texts, { padding: true, truncation: true, maxLength: 48 });
  const shape = [rows, enc.inputIds[0].length];
  return {
    inputIds: new Tensor(Int32Array.from(enc.inputIds.flat()), shape),
    attentionMask: new Tensor(Int32Array.from(enc.attentionMask.flat()), shape),
    labels: new Tensor(labels, [rows]),
  };
}

/** HF's init with std 0.2: at its usual 0.02 the [CLS] state barely depends on the input, so no
 *  adapter could lower the loss. */
function tinyDistilBert(seed: number): DistilBertForSequenceClassification {
  manualSeed(seed);
  const model = new DistilBertForSequenceClassification(distilBertConfig({
    vocabSize: 30522, dim: 32, nLayers: 2, nHeads: 4, hiddenDim: 64, maxPositionEmbeddings: 128, numLabels: 2, initializerRange: 0.2,
  }));
  model.initWeights();
  return model;
}

const METHODS: [string, () => PeftConfig, RegExp][] = [
  ["IA3", () => new IA3Config({ taskType: "SEQ_CLS" }), /\.ia3_l\.default$/],
  ["bottleneck adapters", () => new AdapterConfig({ taskType: "SEQ_CLS", bottleneckSize: 8 }), /\.adapter_(down|up)\.default\./],
];

for (const [label, makeConfig, adapterName] of METHODS) {
  test(`${label} on a tiny DistilBERT: the loss falls, everything else stays bit-identical`, async () => {
    const batch = await sentimentBatch(300);
    const peft = getPeftModel(tinyDistilBert(5), makeConfig());
    // Dropout off, so the losses before and after compare the same function.
    peft.eval();
    const params = [...peft.namedParameters()];
    const adapters = params.filter(([n]) => adapterName.test(n));
    assert.ok(adapters.length > 0 && adapters.every(([, p]) => p.requiresGrad));
    // Only the adapter tensors are stepped (not the trainable head), so the fall is theirs.
    const others = params.filter(([n]) => !adapterName.test(n)).map(([n, p]) => [n, p, Float32Array.from(p.data)] as const);
    const starts = adapters.map(([, p]) => Float32Array.from(p.data));
    const optimizer = new AdamW(adapters.map(([, p]) => p), { lr: 1e-2 });
    const loss = () => noGrad(() => peft.forward(batch).loss!.item());
    const before = loss();
    for (let step = 0; step < 5; step++) {
      peft.zeroGrad();
      peft.forward(batch).loss!.backward();
      optimizer.step();
    }
    const after = loss();
    assert.ok(after < before - 0.02, `loss ${before} -> ${after}`);
    for (const [n, p, data] of others) assert.ok(data.every((v, i) => Object.is(v, p.data[i])), `${n} changed`);
    assert.ok(adapters.every(([, p], k) => p.data.some((v, i) => v !== starts[k][i])), "every adapter tensor moved");
  });
}

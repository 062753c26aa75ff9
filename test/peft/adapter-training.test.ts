// IA3 and bottleneck adapters train a tiny random DistilBERT on real sentences: the loss falls and
// every frozen base parameter stays bit-identical.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AdamW } from "../../src/optim/index.js";
import { AdapterConfig, IA3Config, getPeftModel, type PeftConfig } from "../../src/peft/index.js";
import { Tensor, noGrad } from "../../src/tensor/index.js";
import { loadBertTokenizer, loadSentiment, tinyDistilBert } from "../methods/real-data.js";

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

const METHODS: [string, () => PeftConfig, RegExp][] = [
  ["IA3", () => new IA3Config({ taskType: "SEQ_CLS" }), /\.ia3_l\.default$/],
  ["bottleneck adapters", () => new AdapterConfig({ taskType: "SEQ_CLS", bottleneckSize: 8 }), /\.adapter_(down|up)\.default\./],
];

for (const [label, makeConfig, adapterName] of METHODS) {
  test(`${label} on a tiny DistilBERT: the loss falls, the base stays bit-identical`, async () => {
    const batch = await sentimentBatch(300);
    const peft = getPeftModel(tinyDistilBert(21), makeConfig());
    // Dropout off, so the losses before and after compare the same function.
    peft.eval();
    const params = [...peft.namedParameters()];
    const frozen = params.filter(([, p]) => !p.requiresGrad).map(([n, p]) => [n, Float32Array.from(p.data)] as const);
    const adapters = params.filter(([n]) => adapterName.test(n)).map(([n, p]) => [n, p, Float32Array.from(p.data)] as const);
    assert.ok(adapters.length > 0 && adapters.every(([, p]) => p.requiresGrad));
    const optimizer = new AdamW(params.filter(([, p]) => p.requiresGrad).map(([, p]) => p), { lr: 5e-3 });
    const loss = () => noGrad(() => peft.forward(batch).loss!.item());
    const before = loss();
    for (let step = 0; step < 8; step++) {
      optimizer.zeroGrad();
      peft.forward(batch).loss!.backward();
      optimizer.step();
    }
    const after = loss();
    assert.ok(after < before - 0.01, `loss ${before} -> ${after}`);
    const current = new Map(peft.namedParameters());
    for (const [n, data] of frozen) assert.ok(data.every((v, i) => Object.is(v, current.get(n)!.data[i])), `${n} changed`);
    assert.ok(adapters.every(([, p, start]) => p.data.some((v, i) => v !== start[i])), "every adapter tensor moved");
  });
}

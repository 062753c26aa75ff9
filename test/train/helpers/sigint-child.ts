// Child process of sigint.test.ts: trains "forever" with signal handling on, reporting each step on stdout.
import { SequenceClassificationModule, Trainer } from "../../../src/train/index.js";
import { loader, seededModel, uciExamples } from "./setup.js";

const dir = process.argv[2];
const train = await uciExamples("train", 64);
const trainer = new Trainer({
  maxEpochs: 1_000_000, handleSignals: true, defaultRootDir: dir, enableProgressBar: false,
  callbacks: [{ onTrainStepEnd: (t) => { process.stdout.write(`step ${t.globalStep}\n`); } }],
});
const result = await trainer.fit(new SequenceClassificationModule(seededModel(0, 0.1), { lr: 0.01 }), loader(train, { batchSize: 8, shuffle: true }));
process.stdout.write(`result ${JSON.stringify(result)}\n`);

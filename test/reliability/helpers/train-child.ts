// Child process of interrupted-training.test.ts: a short, fully seeded training run (dropout on, shuffled batches),
// checkpointing <out>/checkpoints/last every 3 optimizer steps, with SIGINT handling on. Prints "step N" after each
// step and "done <json>" at the end, then writes the final weights to <out>/final.safetensors.
// Usage: train-child.ts OUT [--resume]   (FINETUNE_TEST_CHECKPOINT_PAUSE pauses a checkpoint write, see checkpoint.ts)
import { existsSync } from "node:fs";
import { join } from "node:path";
import { saveSafetensors } from "../../../src/io/safetensors.js";
import { ModelCheckpoint, SequenceClassificationModule, Trainer } from "../../../src/train/index.js";
import { loader, seededModel, uciExamples } from "../../train/helpers/setup.js";

const MAX_STEPS = 12;
const EVERY = 3;

const out = process.argv[2]!;
const resume = process.argv.includes("--resume");
const train = await uciExamples("train", 64);
const model = seededModel(0, 0.2);
const checkpoints = join(out, "checkpoints");
const trainer = new Trainer({
  maxSteps: MAX_STEPS, seed: 42, handleSignals: true, enableProgressBar: false, logger: false, defaultRootDir: out,
  callbacks: [
    new ModelCheckpoint({ dirpath: checkpoints, everyNTrainSteps: EVERY, saveTopK: 0, saveLast: true }),
    { onTrainStepEnd: (t) => { process.stdout.write(`step ${t.globalStep}\n`); } },
  ],
});
const last = join(checkpoints, "last");
const ckptPath = resume && (existsSync(last) || existsSync(`${last}.old`)) ? last : undefined;
const result = await trainer.fit(
  new SequenceClassificationModule(model, { lr: 0.05 }),
  loader(train, { batchSize: 8, shuffle: true, seed: 3 }),
  undefined,
  { ckptPath },
);
const weights = new Map([...model.namedParameters()].map(([name, p]) => [name, { dtype: "F32" as const, shape: [...p.shape], data: Float32Array.from(p.data) }]));
if (result.stopReason !== "interrupted") await saveSafetensors(join(out, "final.safetensors"), weights);
process.stdout.write(`done ${JSON.stringify({ ...result, resumedFrom: ckptPath ?? null })}\n`);

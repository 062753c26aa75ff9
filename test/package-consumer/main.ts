// A user's program against the installed package: compiled with tsc against the packed .d.ts files and run by
// test/package-consumer.test.ts. It fine-tunes the bundled model with LoRA for a few steps through the public
// API, saves the adapter and loads it back, and prints what it measured as one JSON line.
import { fileURLToPath } from "node:url";
import {
  AutoModelForSequenceClassification, AutoTokenizer, DataLoader, LoraConfig, SequenceClassificationModule, Trainer, backend,
  getPeftModel, loadPeftModel, manualSeed, modelInput, noGrad, nn, optim, tensor, tokenizeDataset,
  type FitResult, type Metrics, type PeftModel, type PreTrainedModel, type TextExample, type TrainerOptions,
} from "finetune-ts";
import { releaseFloat32 } from "finetune-ts/internal";
// Type-only imports (erased when run) that must not compile:
// @ts-expect-error autograd's op wrapper is internal: finetune-ts/internal, not the package root
import type { result } from "finetune-ts";
// @ts-expect-error the package's files are reached through its "exports" only
import type { Tensor } from "finetune-ts/dist/tensor/tensor.js";

// The bundled model ships inside the package.
const MODEL = fileURLToPath(new URL("../node_modules/finetune-ts/assets/tiny-distilbert", import.meta.url));

const rows: TextExample[] = [
  { text: "win a free prize now, click here", label: 1 },
  { text: "are we still meeting for lunch tomorrow?", label: 0 },
  { text: "cheap loans approved instantly, reply today", label: 1 },
  { text: "the minutes of yesterday's meeting are attached", label: 0 },
  { text: "you have been selected for a cash reward", label: 1 },
  { text: "can you review my draft before friday?", label: 0 },
  { text: "limited offer: double your money fast", label: 1 },
  { text: "thanks for the notes, see you on monday", label: 0 },
];

manualSeed(0);
const model: PreTrainedModel = await AutoModelForSequenceClassification.fromPretrained(MODEL, { numLabels: 2 });
const tokenizer = await AutoTokenizer.fromPretrained(MODEL);
const peft: PeftModel = getPeftModel(model, new LoraConfig({ taskType: "SEQ_CLS", r: 4, loraAlpha: 8 }));
const examples = await tokenizeDataset(tokenizer, rows, { maxLength: 32 });
const loader = (shuffle: boolean) => new DataLoader(examples, { batchSize: 4, shuffle, padTokenId: tokenizer.padTokenId ?? 0 });

const options: TrainerOptions = { maxSteps: 4, logger: false, enableProgressBar: false };
const trainer = new Trainer(options);
const module = new SequenceClassificationModule(peft, { lr: 1e-2 });
const fit: FitResult = await trainer.fit(module, loader(true));
const [scores]: Metrics[] = await trainer.test(module, loader(false));

const dir = fileURLToPath(new URL("./adapter", import.meta.url));
await peft.savePretrained(dir);
const base = await AutoModelForSequenceClassification.fromPretrained(MODEL, { numLabels: 2 });
const reloaded = await loadPeftModel(base, dir);
const [batch] = [...loader(false)];
const logits = (m: PeftModel) => noGrad(() => Array.from(m.forward(modelInput(batch!)).logits.data));
peft.eval();
reloaded.eval();
const [a, b] = [logits(peft), logits(reloaded)];

// The engine's namespaces work from the package too.
const layer = new nn.Linear(3, 2);
const opt = new optim.AdamW(layer.parameters(), { lr: 0.1 });
const x = tensor([[1, 2, 3]]);
layer.forward(x).sum().backward();
opt.step();
releaseFloat32(null);

console.log(JSON.stringify({
  backend: backend().name,
  steps: fit.globalStep,
  testLoss: scores!.test_loss,
  trainable: peft.getNbTrainableParameters(),
  reloadedMaxDiff: Math.max(...a.map((v, i) => Math.abs(v - b[i]!))),
  logits: a.length,
  linearOut: layer.forward(x).shape,
}));

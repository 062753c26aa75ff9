// The README's TypeScript example, kept here so `npm run typecheck` proves it compiles against the API.
import {
  AutoModelForSequenceClassification, AutoTokenizer, getPeftModel, LoraConfig, loadDataFiles, tokenizeDataset,
  DataLoader, SequenceClassificationModule, Trainer, ModelCheckpoint,
} from "../src/index.js";
export async function example() {

const model = await AutoModelForSequenceClassification.fromPretrained("distilbert-base-uncased", { numLabels: 2 });
const tokenizer = await AutoTokenizer.fromPretrained("distilbert-base-uncased");
const peft = getPeftModel(model, new LoraConfig({ taskType: "SEQ_CLS", r: 8, loraAlpha: 16 }));
peft.printTrainableParameters(); // "trainable params: ... || all params: ... || trainable%: ..." as PEFT prints it

const { train, validation, test } = await loadDataFiles({ train: "train.jsonl", validation: "val.jsonl", test: "test.jsonl" });
const loader = async (rows: typeof train.rows, shuffle: boolean) =>
  new DataLoader(await tokenizeDataset(tokenizer, rows, { maxLength: 128 }), { batchSize: 16, shuffle, padTokenId: 0 });

const trainer = new Trainer({ maxEpochs: 3, callbacks: [new ModelCheckpoint({ dirpath: "ckpt", monitor: "val_loss" })] });
const module = new SequenceClassificationModule(peft, { lr: 5e-4 });
await trainer.fit(module, await loader(train.rows, true), await loader(validation!.rows, false));
console.log(await trainer.test(module, await loader(test!.rows, false)));  // [{ test_acc, test_f1, test_loss, ... }]
await peft.savePretrained("runs/lora");  // adapter_config.json + adapter_model.safetensors, PEFT's keys
}

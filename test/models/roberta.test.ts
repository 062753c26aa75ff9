// RoBERTa and XLM-RoBERTa: the fixture (RobertaForSequenceClassification from the project's PyTorch reference) on
// both backends through every method folder; fairseq's position numbering; the config; the masked-LM head.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { RobertaForSequenceClassification } from "../../src/models/roberta/index.js";
import { fixtureDir } from "../helpers/fixtures.js";
import { loraFixtureTests, promptFixtureTests } from "../peft/method-cases.js";
import { encoderFixtureTests } from "./encoder-cases.js";

encoderFixtureTests("roberta", RobertaForSequenceClassification);
for (const method of readdirSync(fixtureDir("roberta")).filter((d) => statSync(join(fixtureDir("roberta"), d)).isDirectory())) {
  if (method.startsWith("lora")) loraFixtureTests("roberta", method);
  else if (method.includes("tuning")) promptFixtureTests("roberta", method);
}

import { ModernBertForSequenceClassification } from "../../src/models/modernbert/index.js";
import { loraFixtureTests, promptFixtureTests } from "../peft/method-cases.js";
import { encoderFixtureTests } from "./encoder-cases.js";

encoderFixtureTests("modernbert", ModernBertForSequenceClassification);
for (const method of ["lora", "lora-rslora"]) loraFixtureTests("modernbert", method);
for (const method of ["prompt-tuning", "p-tuning", "prefix-tuning", "prefix-tuning-projection"]) promptFixtureTests("modernbert", method);

import { BertForSequenceClassification } from "../../src/models/bert/index.js";
import { encoderFixtureTests } from "./encoder-cases.js";

encoderFixtureTests("bert", BertForSequenceClassification);

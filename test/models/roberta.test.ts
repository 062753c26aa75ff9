import { RobertaForSequenceClassification } from "../../src/models/roberta/index.js";
import { encoderFixtureTests } from "./encoder-cases.js";

encoderFixtureTests("roberta", RobertaForSequenceClassification);

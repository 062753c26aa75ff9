import { DistilBertForSequenceClassification } from "../../src/models/distilbert/index.js";
import { encoderFixtureTests } from "./encoder-cases.js";

encoderFixtureTests("distilbert", DistilBertForSequenceClassification);

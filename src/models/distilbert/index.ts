import { registerModelType } from "../auto.js";
import { parseDistilBertConfig } from "./config.js";
import { DistilBertForSequenceClassification, DistilBertModel } from "./modeling.js";
import { DistilBertForMaskedLM } from "./masked-lm.js";

export { distilBertConfig, parseDistilBertConfig } from "./config.js";
export type { DistilBertConfig } from "./config.js";
export { DistilBertForSequenceClassification, DistilBertModel } from "./modeling.js";
export { DistilBertForMaskedLM } from "./masked-lm.js";

registerModelType({
  modelType: "distilbert",
  parseConfig: parseDistilBertConfig,
  base: DistilBertModel,
  forSequenceClassification: DistilBertForSequenceClassification,
  forMaskedLM: DistilBertForMaskedLM,
});

import { registerModelType } from "../auto.js";
import { parseBertConfig } from "./config.js";
import { BertForSequenceClassification, BertModel } from "./modeling.js";
import { BertForMaskedLM } from "./masked-lm.js";

export { bertConfig, parseBertConfig } from "./config.js";
export type { BertConfig } from "./config.js";
export { BertForSequenceClassification, BertModel } from "./modeling.js";
export { BertForMaskedLM } from "./masked-lm.js";

registerModelType({
  modelType: "bert",
  parseConfig: parseBertConfig,
  base: BertModel,
  forSequenceClassification: BertForSequenceClassification,
  forMaskedLM: BertForMaskedLM,
});

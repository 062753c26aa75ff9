import { registerModelType } from "../auto.js";
import { parseBertConfig } from "./config.js";
import { BertForSequenceClassification, BertModel } from "./modeling.js";

export { bertConfig, parseBertConfig } from "./config.js";
export type { BertConfig } from "./config.js";
export { BertForSequenceClassification, BertModel } from "./modeling.js";

registerModelType({
  modelType: "bert",
  parseConfig: parseBertConfig,
  base: BertModel,
  forSequenceClassification: BertForSequenceClassification,
});

export { distilBertConfig, parseDistilBertConfig } from "./config.js";
export type { DistilBertConfig } from "./config.js";
export { DistilBertForSequenceClassification, DistilBertModel } from "./modeling.js";
export { DistilBertForMaskedLM } from "./masked-lm.js";
export { distilBertFamily } from "./family.js";

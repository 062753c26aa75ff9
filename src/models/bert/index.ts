export { bertConfig, parseBertConfig } from "./config.js";
export type { BertConfig } from "./config.js";
export { BertForSequenceClassification, BertModel } from "./modeling.js";
export { BertForMaskedLM } from "./masked-lm.js";
export { bertFamily } from "./family.js";

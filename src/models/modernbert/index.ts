export { modernBertConfig, parseModernBertConfig } from "./config.js";
export type { ModernBertConfig } from "./config.js";
export { ModernBertModel } from "./modeling.js";
export { ModernBertForMaskedLM, ModernBertForSequenceClassification } from "./heads.js";
export { modernBertFamily } from "./family.js";

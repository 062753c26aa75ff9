export { ROBERTA_MODEL_TYPES, parseRobertaConfig, robertaConfig } from "./config.js";
export type { RobertaConfig, RobertaModelType } from "./config.js";
export { RobertaForSequenceClassification, RobertaModel, robertaPositionIds } from "./modeling.js";
export { RobertaForMaskedLM } from "./masked-lm.js";
export { robertaFamily } from "./family.js";

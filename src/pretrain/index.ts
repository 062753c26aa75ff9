// Pretraining from scratch or further (masked LM for DistilBERT/BERT, next-token for GPT-2/Llama).
export { pretrain, pretrainingTexts, type Doc, type FreshModelSpec, type PretrainOptions, type PretrainResult, type PretrainedModelSpec } from "./pretrain.js";
export { architectures, freshModel, objectiveOf, pretrainingHead, type Architecture, type ModelSize, type Objective } from "./models.js";
export { maskTokens, type MaskingOptions, type MaskedTokens } from "./masking.js";
export { documentSentences, packBlocks, seededDraw, sentenceRows, type PackOptions } from "./blocks.js";
export { MaskedBlockLoader } from "./loader.js";
export { MaskedLMModule, type MaskedLanguageModel } from "./masked-lm-module.js";
export type { SaveDtype } from "./save.js";

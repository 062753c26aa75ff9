// The classic fine-tuning approaches (Raschka's taxonomy): feature-based, output layers / last layers,
// and full fine-tuning. PEFT methods live in ../peft.
export { freeze, unfreeze, trainLastLayers } from "./freeze.js";
export { countParameters, formatParameterCount, formatTrainableParameters, printTrainableParameters, trainableParameters } from "./trainable.js";
export type { ParameterCount } from "./trainable.js";
export { defaultPooling, extractFeatures } from "./features/extract.js";
export type { ExtractFeaturesOptions } from "./features/extract.js";
export type { Pooling } from "./features/pooling.js";
export { LogisticRegression } from "./logistic-regression.js";
export type { LogisticRegressionOptions } from "./logistic-regression.js";
export { MLPClassifier } from "./mlp-classifier.js";
export type { MLPEarlyStoppingOptions, MLPClassifierOptions } from "./mlp-classifier.js";
export { minimizeLbfgs } from "./lbfgs.js";
export { minimizeAdam } from "./full-batch-adam.js";
export type { AdamOptions, AdamResult } from "./full-batch-adam.js";
export type { LbfgsOptions, LbfgsResult, Objective } from "./lbfgs.js";
export type { Labels } from "./labels.js";

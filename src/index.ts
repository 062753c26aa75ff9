// finetune-ts: the public API. Tensors, models, tokenizers, methods and training are flat exports, as
// transformers/peft name them; the engine's building blocks sit in the nn, optim and io namespaces.
export * from "./tensor/index.js";
export * as nn from "./nn/index.js";
export * as optim from "./optim/index.js";
export * as io from "./io/index.js";
export { loadSafetensors, saveSafetensors } from "./io/index.js";
export { backend, setBackend, typescriptBackend } from "./backend/index.js";
export type { Backend } from "./backend/index.js";
export * from "./models/index.js";
export * from "./tokenizers/index.js";
export type { FromPretrainedOptions as TokenizerFromPretrainedOptions } from "./tokenizers/index.js";
export type { FromPretrainedOptions } from "./models/index.js";
export * from "./peft/index.js";
export * from "./methods/index.js";
export * from "./train/index.js";
export type { EarlyStoppingOptions } from "./train/index.js";
export type { EarlyStoppingOptions as MLPEarlyStoppingOptions } from "./methods/index.js";
export * from "./data/index.js";
export { saveGguf, type SaveGgufOptions } from "./export/gguf.js";
export { setWarningHandler, warn, type WarningHandler } from "./warnings/index.js";

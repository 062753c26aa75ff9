export { Module } from "./module.js";
export type { LoadResult } from "./module.js";
export { Linear, Conv1D, Embedding, LayerNorm, RMSNorm, Dropout, Activation, ReLU, Tanh, SiLU, GELU } from "./layers.js";
export { storeFrozenWeightsInBf16 } from "./bf16.js";
export type { WeightLayer } from "./bf16.js";
export { ModuleList, Sequential, ModuleDict } from "./containers.js";
export { LSTM } from "./lstm.js";
export type { LSTMOptions } from "./lstm.js";
export * as init from "./init.js";

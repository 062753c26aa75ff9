// finetune-ts: the public API.
export * from "./tensor/index.js";
export * as nn from "./nn/index.js";
export * as optim from "./optim/index.js";
export { backend, setBackend, typescriptBackend } from "./backend/index.js";
export type { Backend } from "./backend/index.js";

// finetune-ts/internal: the building blocks the public API (./index.ts) hides, for code that extends the engine
// itself (a new op, a kernel, a model family's parsing). No stability promise: these change with the engine.
// test/api/exports.snapshot.json records this list too, so it also changes only on purpose.

// Autograd and buffers: how an op records its backward, and hands back float32 buffers to the pool
export { result, releaseFloat32, numelOf, scale, gatherLast, constant, checkpoint } from "./tensor/index.js";
export type { GradNode, BlockResult } from "./tensor/index.js";
// Fused kernels behind the layers, and linear's raw forward/backward
export { linearShape, linearInto, linearGrads, linearGelu, addLayerNorm, addLinear, fusedGelu, dropoutSpec } from "./tensor/index.js";
export type { LinearShape } from "./tensor/index.js";
// Backends
export { typescriptBackend, backendFor, nativeBackendError } from "./backend/index.js";
export type { FloatArray, GemmArgs, BatchedGemmArgs } from "./backend/index.js";
// Files: atomic writes, raw tensor buffers, hub globs
export { writeAtomic, writeFileAtomic, writeJsonAtomic } from "./io/atomic.js";
export { isSafeDtype, itemSize, numel } from "./io/raw-tensor.js";
export { globToRegExp } from "./io/hub.js";
// Models: the registry's built-in list, each family's config.json parser and model types, GGUF conversion
export {
  BUILT_IN_FAMILIES, parseDistilBertConfig, parseBertConfig, parseGPT2Config, parseLlamaConfig, parseModernBertConfig,
  parseRobertaConfig, parseGemmaConfig, LLAMA_MODEL_TYPES, ROBERTA_MODEL_TYPES, GEMMA_MODEL_TYPES, robertaPositionIds,
  GGUF_DTYPES, ggufExport, readGgufModel,
} from "./models/index.js";
export type { ActivationProfile, ArchMetadata, FamilyGguf, GgufDtype, GgufExportOptions, GgufModel, LayerType, PeftModelFacts, TensorLike } from "./models/index.js";
// Solvers behind the feature-based classifiers
export { minimizeLbfgs, minimizeAdam } from "./methods/index.js";
export type { AdamOptions, AdamResult, LbfgsOptions, LbfgsResult, Objective } from "./methods/index.js";
// PEFT's state-dict key mapping
export { savedKey } from "./peft/index.js";
// Training checkpoints' file names, and how ModelCheckpoint names its files
export { STATE_FILE, WEIGHTS_FILE, OPTIMIZER_FILE, formatCheckpointName } from "./train/index.js";
// Data
export { mulberry32 } from "./data/index.js";

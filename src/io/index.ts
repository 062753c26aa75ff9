// The I/O layer's public surface (the package's `io` namespace): weight files on disk (safetensors, torch.save,
// GGUF) and the Hugging Face hub cache. Atomic writes and raw-buffer helpers are internal (../internal.ts).
export { loadModelWeights, loadSafetensorsSharded, parseByteSize, saveModelWeights, WEIGHT_FILES } from "./model-weights.js";
export type { LoadModelWeightsOptions, SaveModelWeightsOptions } from "./model-weights.js";
export { FileFormatError } from "./errors.js";
export { GgufMetadata, GgufValueType, isGgufFile, readGgufHeader, readGgufTensors, writeGguf } from "./gguf.js";
export type { GgufEntry, GgufHeader, GgufTensorInfo, GgufTensorOut, GgufValue } from "./gguf.js";
export { listRepoTree, resolveModelFile, resolveWeights, snapshotDownload } from "./hub.js";
export type { HubOptions, RepoFileInfo, RepoTree, RepoType, ResolveOptions, ResolvedWeights, SnapshotOptions } from "./hub.js";
export { fromFloat32, toFloat32, toInt32 } from "./raw-tensor.js";
export type { RawData, RawTensor, SafeDtype, TensorFileContent } from "./raw-tensor.js";
export { loadSafetensors, loadSafetensorsSync, saveSafetensors } from "./safetensors.js";
export type { LoadSafetensorsOptions } from "./safetensors.js";
export { readShardIndex } from "./shard-index.js";
export type { ShardIndex } from "./shard-index.js";
export { loadPytorchBin } from "./torch-bin.js";

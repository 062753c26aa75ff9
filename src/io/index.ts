// Public surface of the I/O layer: weight files on disk (safetensors, torch.save) and the Hugging Face hub cache.
export { writeAtomic, writeFileAtomic, writeJsonAtomic } from "./atomic.js";
export { loadModelWeights, loadSafetensorsSharded, WEIGHT_FILES } from "./model-weights.js";
export { FileFormatError } from "./errors.js";
export { GgufMetadata, GgufValueType, isGgufFile, readGgufHeader, readGgufTensors, writeGguf } from "./gguf.js";
export type { GgufEntry, GgufHeader, GgufTensorInfo, GgufTensorOut, GgufValue } from "./gguf.js";
export { globToRegExp, listRepoTree, resolveModelFile, resolveWeights, snapshotDownload } from "./hub.js";
export type { HubOptions, RepoFileInfo, RepoTree, RepoType, ResolveOptions, ResolvedWeights, SnapshotOptions } from "./hub.js";
export { fromFloat32, isSafeDtype, itemSize, numel, toFloat32, toInt32 } from "./raw-tensor.js";
export type { RawData, RawTensor, SafeDtype, TensorFileContent } from "./raw-tensor.js";
export { loadSafetensors, loadSafetensorsSync, saveSafetensors } from "./safetensors.js";
export type { LoadSafetensorsOptions } from "./safetensors.js";
export { readShardIndex } from "./shard-index.js";
export type { ShardIndex } from "./shard-index.js";
export { loadPytorchBin } from "./torch-bin.js";

export { DataLoader, type DataLoaderOptions, type DataLoaderState, type Loader } from "./dataloader.js";
export { collate, IGNORE_INDEX, type Batch, type CollateOptions, type Example, type PaddingSide } from "./collate.js";
export { loadHubDataset, type HubDataset, type HubDatasetOptions } from "./hub-dataset.js";
export { loadDataFiles, type DataFiles, type DataFilesBySplit, type LoadedSplit, type LoadOptions } from "./load.js";
export { readRecords, recordSource, streamRecords, type JsonRecord, type RecordItem } from "./records.js";
export { conversationOf, type Turn } from "./conversations.js";
export { mulberry32, splitDataset, type SplitOptions } from "./split.js";
export type { ColumnRef, DataFormat, DatasetDict, ReadOptions, SplitName, TextExample } from "./types.js";
export { packExamples } from "./packing.js";

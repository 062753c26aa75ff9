export { AutoTokenizer, type FromPretrainedOptions } from "./auto.js";
export {
  PreTrainedTokenizer,
  type BatchEncoding,
  type CallOptions,
  type DecodeOptions,
  type EncodeOptions,
  type SpecialTokensToAdd,
} from "./pretrained-tokenizer.js";
export type { Padding, Side, Truncation } from "./padding-truncation.js";
export type { SpecialRole, SpecialTokens } from "./config.js";
export {
  trainByteLevelBpeTokenizer,
  trainWordPieceTokenizer,
  type TrainByteLevelBpeOptions,
  type TrainingCorpus,
  type TrainWordPieceOptions,
} from "./train.js";

export { AutoTokenizer, type TokenizerFromPretrainedOptions } from "./auto.js";
export {
  PreTrainedTokenizer,
  type ApplyChatTemplateOptions,
  type BatchEncoding,
  type ChatEncoding,
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
export { CHAT_TEMPLATE_FILE, type ChatMessage, type ChatTemplateOptions, type ChatTemplateSource } from "./chat-template.js";

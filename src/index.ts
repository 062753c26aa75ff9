// finetune-ts: the public API, every name listed. Tensors, models, tokenizers, fine-tuning methods, PEFT and
// training are flat exports named as PyTorch, transformers and PEFT name them; the engine's building blocks sit
// in the nn, optim and io namespaces. What the engine uses inside (autograd's op wrapper, buffer recycling,
// fused kernels, solvers, registries' parsers) is in ./internal.ts, the `finetune-ts/internal` subpath.
// test/api-exports.json records this list; test/api.test.ts fails when it changes by accident.

// Tensors and autograd
export {
  Tensor, Bf16Tensor, tensor, zeros, ones, full, zerosLike, onesLike, arange, randn, rand, randint, asTensor,
  noGrad, enableGrad, isGradEnabled, Generator, defaultGenerator, manualSeed,
} from "./tensor/index.js";
export type { DType, TensorData, NestedArray, GeneratorState } from "./tensor/index.js";
// Functional ops, as torch.* and torch.nn.functional.* name them
export {
  add, sub, mul, div, neg, exp, log, sqrt, rsqrt, abs, tanh, sigmoid, relu, silu, sin, cos, pow, gelu, where, maskedFill,
  sum, mean, max, argmax, variance,
  reshape, flatten, unsqueeze, squeeze, permute, transpose, slice, cat, stack, split, expand, repeatInterleave, embedding, indexSelect,
  matmul, linear, softmax, logSoftmax, layerNorm, rmsNorm, dropout, crossEntropy, mseLoss, scaledDotProductAttention,
} from "./tensor/index.js";
export type { AttentionOptions, CrossEntropyOptions } from "./tensor/index.js";

// Modules, optimizers, file formats and the hub, kernels
export * as nn from "./nn/index.js";
export * as optim from "./optim/index.js";
export * as io from "./io/index.js";
export { loadSafetensors, saveSafetensors } from "./io/index.js";
export { backend, setBackend } from "./backend/index.js";
export type { Backend } from "./backend/index.js";

// Models
export { AutoConfig, AutoModel, AutoModelForCausalLM, AutoModelForMaskedLM, AutoModelForSequenceClassification, PreTrainedModel } from "./models/index.js";
export type {
  BaseConfig, FromPretrainedOptions, SavePretrainedOptions, PretrainedClass, WeightLoadReport, MismatchedKey, LabelConfig, ProblemType,
  ModelInput, ModelOutput, LayerPast, GenerateOptions, SamplingOptions,
} from "./models/index.js";
export { generationSteps, estimateParameterCount, isGradientCheckpointing, resizeTokenEmbeddings, setGradientCheckpointing } from "./models/index.js";
export type { ModelShape, ParameterEstimate, ResizeOptions } from "./models/index.js";
// Model families: the registry, and each family's classes and config builders
export { families, familyOf, familyForConfig, registerFamily, supportedModelTypes } from "./models/index.js";
export type { ModelFamily, FamilyClasses, FamilyLayout, FreshModelSize, ModelClass, PeftTargets } from "./models/index.js";
export {
  DistilBertModel, DistilBertForSequenceClassification, DistilBertForMaskedLM, distilBertConfig, distilBertFamily,
  BertModel, BertForSequenceClassification, BertForMaskedLM, bertConfig, bertFamily,
  GPT2Model, GPT2LMHeadModel, GPT2ForSequenceClassification, gpt2Config, gpt2Family,
  LlamaModel, LlamaForCausalLM, LlamaForSequenceClassification, llamaConfig, llamaFamily,
  ModernBertModel, ModernBertForSequenceClassification, ModernBertForMaskedLM, modernBertConfig, modernBertFamily,
  RobertaModel, RobertaForSequenceClassification, RobertaForMaskedLM, robertaConfig, robertaFamily,
  Gemma3TextModel, Gemma3ForCausalLM, Gemma3ForSequenceClassification, gemmaConfig, gemma3Family,
} from "./models/index.js";
export type {
  DistilBertConfig, BertConfig, GPT2Config, LlamaConfig, LlamaModelType, RopeScaling, ModernBertConfig, RobertaConfig,
  RobertaModelType, GemmaConfig, GemmaModelType,
} from "./models/index.js";
export { saveGguf, type SaveGgufOptions } from "./export/gguf.js";

// Tokenizers
export { AutoTokenizer, PreTrainedTokenizer, trainByteLevelBpeTokenizer, trainWordPieceTokenizer, CHAT_TEMPLATE_FILE } from "./tokenizers/index.js";
export type {
  TokenizerFromPretrainedOptions, ApplyChatTemplateOptions, BatchEncoding, ChatEncoding, CallOptions, DecodeOptions, EncodeOptions,
  SpecialTokensToAdd, Padding, Side, Truncation, SpecialRole, SpecialTokens, TrainByteLevelBpeOptions, TrainingCorpus,
  TrainWordPieceOptions, ChatMessage, ChatTemplateOptions, ChatTemplateSource,
} from "./tokenizers/index.js";

// The classic fine-tuning approaches: freezing, last layers, feature-based classifiers
export {
  freeze, unfreeze, trainLastLayers, countParameters, formatParameterCount, formatTrainableParameters, printTrainableParameters,
  trainableParameters, defaultPooling, extractFeatures, LogisticRegression, MLPClassifier,
} from "./methods/index.js";
export type {
  ParameterCount, ExtractFeaturesOptions, Pooling, LogisticRegressionOptions, MLPClassifierOptions, MLPEarlyStoppingOptions, Labels,
} from "./methods/index.js";

// Parameter-efficient fine-tuning, as PEFT names it
export {
  getPeftModel, PeftModel, PeftConfig, peftConfigFromJson, PromptLearningConfig, ModulesToSaveWrapper,
  savePeftAdapter, loadPeftModel, loadAdapter, readAdapterConfig,
  LoraConfig, LoraLinear, PromptTuningConfig, PromptEmbedding, PromptEncoderConfig, PromptEncoder,
  PrefixTuningConfig, PrefixEncoder, IA3Config, IA3Linear, AdapterConfig, BottleneckAdapterLayer,
  registerPeftMethod, peftMethods, peftMethod, PEFT_FIELDS, PROMPT_LEARNING_FIELDS, isAdapterLayer,
  targetModulesFlag, numVirtualTokensFlag, encoderHiddenSizeFlag,
} from "./peft/index.js";
export type {
  PeftType, TaskType, LoadAdapterOptions, TunerOptions, PromptLearningConfigFields, LoraConfigFields, PromptTuningConfigFields,
  PromptTuningInit, PromptEncoderConfigFields, PromptEncoderReparameterizationType, PrefixTuningConfigFields, IA3ConfigFields,
  AdapterConfigFields, AdapterNonLinearity, AdapterTargetLayers,
  PeftMethod, PeftMethodCli, PeftCliFlag, PeftCliContext, PeftCliSetup, PeftConfigClass, PeftConfigFields, ConfigFields,
  SchemaValues, InjectingTuner, PromptTuner, AdapterLayer, PromptEncoderModule,
} from "./peft/index.js";

// Training
export {
  Trainer, LrFinder, lrFind, modelInput, SequenceClassificationModule, CausalLMModule, configureDefaultOptimizer,
  ModelCheckpoint, EarlyStopping, LearningRateMonitor, CSVLogger, JSONLLogger, TensorBoardLogger,
  accuracy, macroScores, perplexity, NonFiniteError, MemoryBudgetError, checkMemoryBudget, estimateTrainingMemory,
  readCheckpoint, trainableWeights, tokenizeDataset,
} from "./train/index.js";
export type {
  TrainerOptions, FitResult, RunOptions, StopReason, LrFindOptions, TrainingModule, TrainingStepOutput, TrainingPlan,
  OptimizerConfig, Metrics, ForwardModel, SequenceClassificationOptions, ClassificationPrediction, LmPrediction,
  OptimizationOptions, Callback, ModelCheckpointOptions, EarlyStoppingOptions, Logger, RunStatus, MacroScores,
  MemoryBudgetOptions, MemoryEstimate, TrainingRun, TrainerState, CustomCheckpointWeights, LoadedCheckpoint,
  TokenizeOptions, TokenizerLike,
} from "./train/index.js";

// Data
export {
  DataLoader, collate, IGNORE_INDEX, loadDataFiles, loadHubDataset, readRecords, recordSource, streamRecords, conversationOf,
  splitDataset, packExamples,
} from "./data/index.js";
export type {
  DataLoaderOptions, DataLoaderState, Loader, Batch, Example, CollateOptions, PaddingSide, HubDataset, HubDatasetOptions,
  DataFiles, DataFilesBySplit, LoadedSplit, LoadOptions, JsonRecord, RecordItem, Turn, SplitOptions, ColumnRef, DataFormat,
  DatasetDict, ReadOptions, SplitName, TextExample,
} from "./data/index.js";
export { setWarningHandler, warn, type WarningHandler } from "./warnings/index.js";

// The models' public surface: the Auto classes, the family registry and every family's classes.
export { AutoConfig, AutoModel, AutoModelForCausalLM, AutoModelForMaskedLM, AutoModelForSequenceClassification } from "./auto.js";
export { families, familyForConfig, familyOf, registerFamily, supportedModelTypes } from "./registry.js";
export type { FamilyClasses, FamilyLayout, FreshModelSize, ModelClass, ModelFamily, PeftTargets } from "./family.js";
export { estimateParameterCount } from "./size.js";
export { GGUF_DTYPES, ggufExport, readGgufModel } from "./gguf.js";
export type { ArchMetadata, FamilyGguf, GgufDtype, GgufExportOptions, GgufModel } from "./gguf.js";
export type { ActivationProfile, ModelShape, ParameterEstimate } from "./size.js";
export { PreTrainedModel } from "./pretrained.js";
export { resizeTokenEmbeddings, type ResizeOptions } from "./resize-embeddings.js";
export { isGradientCheckpointing, setGradientCheckpointing } from "./checkpointing.js";
export type { BaseConfig, PretrainedClass } from "./pretrained.js";
export type { FromPretrainedOptions, SavePretrainedOptions } from "./loading.js";
export type { WeightLoadReport, MismatchedKey } from "./weights.js";
export type { LabelConfig, ProblemType } from "./config.js";
export type { LayerPast, ModelInput, ModelOutput, PeftModelFacts, TensorLike } from "./outputs.js";
export { generationSteps, type GenerateOptions } from "./generation.js";
export type { SamplingOptions } from "./sampling.js";
export * from "./families.js";

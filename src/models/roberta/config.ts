// RobertaConfig and XLMRobertaConfig: config.json of model_type "roberta" and "xlm-roberta". Both are BertConfig
// with fairseq's token ids (<s> 0, <pad> 1, </s> 2) as defaults, and both run the same modeling code.
import {
  applyLabelOverrides, camelToRaw, configError, labelsToRaw, parseLabels, parseSchema, schemaToRaw,
  type FromSchema, type LabelConfig, type RawConfig, type Schema,
} from "../config.js";
import { BERT_SCHEMA, bertShape, checkBertLayers } from "../bert/config.js";
import type { ModelShape } from "../size.js";

export const ROBERTA_MODEL_TYPES = ["roberta", "xlm-roberta"] as const;
export type RobertaModelType = (typeof ROBERTA_MODEL_TYPES)[number];

const SCHEMA = {
  ...BERT_SCHEMA,
  // Not nullable: positions are counted from padding_idx + 1, so the model cannot run without it.
  padTokenId: { key: "pad_token_id", kind: "int", default: 1, min: 0 },
  bosTokenId: { key: "bos_token_id", kind: "int", default: 0, nullable: true, min: 0 },
  eosTokenId: { key: "eos_token_id", kind: "int", default: 2, nullable: true, min: 0 },
} as const satisfies Schema;

type RobertaFields = FromSchema<typeof SCHEMA>;

export type RobertaConfig = RobertaFields & LabelConfig & {
  readonly modelType: RobertaModelType;
  readonly raw: RawConfig;
};

export function parseRobertaConfig(raw: RawConfig, file: string): RobertaConfig {
  const modelType = raw.model_type ?? "roberta";
  if (!ROBERTA_MODEL_TYPES.includes(modelType as RobertaModelType))
    throw configError(file, "model_type", `is ${JSON.stringify(modelType)}; the RoBERTa family covers ${ROBERTA_MODEL_TYPES.join(", ")}`);
  const c = { ...parseSchema(raw, file, SCHEMA), ...parseLabels(raw, file), modelType: modelType as RobertaModelType, raw };
  checkBertLayers(c, file, "RoBERTa");
  if (c.maxPositionEmbeddings <= c.padTokenId + 1)
    throw configError(file, "max_position_embeddings", `(${c.maxPositionEmbeddings}) leaves no position for a token: positions start at pad_token_id + 1 = ${c.padTokenId + 1}`);
  return c;
}

/** A config built in code from camelCase fields (validated like a file); modelType defaults to "roberta". */
export function robertaConfig(fields: Partial<RobertaFields> & { modelType?: RobertaModelType; numLabels?: number } = {}): RobertaConfig {
  const { modelType = "roberta", numLabels, ...rest } = fields;
  const raw = applyLabelOverrides({ model_type: modelType, ...camelToRaw(rest, SCHEMA) }, { numLabels });
  return parseRobertaConfig(raw, "<robertaConfig>");
}

/** BERT's sizes (the classifier's dense layer stands where BERT's pooler is), except the longest input: the
 *  first padding_idx + 1 rows of the position table are never a token's (roberta-base: 514 rows, 512 tokens). */
export function robertaShape(c: RobertaConfig): ModelShape {
  return { ...bertShape(c), maxPositions: c.maxPositionEmbeddings - c.padTokenId - 1 };
}

export function robertaConfigDict(c: RobertaConfig): RawConfig {
  return { ...schemaToRaw(c, SCHEMA), ...labelsToRaw(c), model_type: c.modelType };
}

// What a pretraining run writes of the model and its tokenizer.
import type { FileSetMember } from "../io/file-set.js";
import { SAVED_WEIGHT_FILES } from "../io/model-weights.js";

/** Precisions a pretraining run saves in: float16 halves the bytes; fromPretrained and transformers both read F16
 *  back into their own precision. */
export type SaveDtype = "float32" | "float16";

/** What a pretraining run's output holds of the model and its tokenizer: the set replaced as a whole. */
export const PRETRAIN_FILES: readonly FileSetMember[] = ["config.json", ...SAVED_WEIGHT_FILES, "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"];

// What a pretraining run writes of the model and its tokenizer.

/** Precisions a pretraining run saves in: float16 halves the bytes; fromPretrained and transformers both read F16
 *  back into their own precision. */
export type SaveDtype = "float32" | "float16";

/** What a pretraining run's output holds of the model and its tokenizer: the set replaced as a whole. */
export const PRETRAIN_FILES = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"];

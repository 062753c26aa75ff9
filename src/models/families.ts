// The built-in model families: each one's public classes and configs, and its registration (read by
// ./registry.ts). Adding a family is its folder, its two lines and its entry here, and its tests
// (docs/extending.md).
import { bertFamily } from "./bert/index.js";
import { distilBertFamily } from "./distilbert/index.js";
import type { ModelFamily } from "./family.js";
import { gemma3Family } from "./gemma3/index.js";
import { gpt2Family } from "./gpt2/index.js";
import { llamaFamily } from "./llama/index.js";
import { modernBertFamily } from "./modernbert/index.js";
import { robertaFamily } from "./roberta/index.js";

export * from "./distilbert/index.js";
export * from "./bert/index.js";
export * from "./gpt2/index.js";
export * from "./llama/index.js";
export * from "./modernbert/index.js";
export * from "./roberta/index.js";
export * from "./gemma3/index.js";

export const BUILT_IN_FAMILIES: readonly ModelFamily[] = [
  distilBertFamily, bertFamily, gpt2Family, llamaFamily, modernBertFamily, robertaFamily, gemma3Family,
];

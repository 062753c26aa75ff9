// The built-in model families, registered by ./registry.ts. Adding a family: its folder (with family.ts), one
// entry here, and its tests (docs/extending.md).
import { bertFamily } from "./bert/family.js";
import { distilBertFamily } from "./distilbert/family.js";
import type { ModelFamily } from "./family.js";
import { gpt2Family } from "./gpt2/family.js";
import { llamaFamily } from "./llama/family.js";

export const BUILT_IN_FAMILIES: readonly ModelFamily[] = [distilBertFamily, bertFamily, gpt2Family, llamaFamily];

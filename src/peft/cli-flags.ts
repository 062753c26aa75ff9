// Command-line options several PEFT methods take. Each is one object, shared by the methods that take it, so the
// option means the same for each (the CLI checks that methods sharing an option's name share its definition).
import type { PeftCliFlag } from "./registry.js";

export const targetModulesFlag: PeftCliFlag = { kind: "list", arg: "M1,M2", help: "module names to adapt (default: the model family's usual ones)" };

export const numVirtualTokensFlag: PeftCliFlag = { kind: "int", min: 1, help: "virtual tokens" };

/** The prompt length of a run when --num-virtual-tokens is not given (the prompt methods' `defaults`). */
export const DEFAULT_VIRTUAL_TOKENS = 20;

export const encoderHiddenSizeFlag: PeftCliFlag = { kind: "int", min: 1, help: "hidden width of the prompt encoder (default: the model's)" };

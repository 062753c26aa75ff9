// Gradient checkpointing of a model's transformer blocks (transformers' gradient_checkpointing_enable): in
// training, each block found through its family's layout keeps only what it reads and recomputes its
// activations in backward, trading one more forward pass for the memory of all blocks' activations.
import type { Module } from "../nn/index.js";
import { checkpoint, type BlockResult } from "../tensor/index.js";
import { modelLayout } from "./layout.js";
import type { PreTrainedModel } from "./pretrained.js";

type Block = Module & { forward(...args: unknown[]): BlockResult };

// Installed as the block's own `forward`, reading the class's through `this`, so a clone of the block
// (Module.clone copies own properties) checkpoints itself rather than the original.
function checkpointedForward(this: Block, ...args: unknown[]): BlockResult {
  const plain = (Object.getPrototypeOf(this) as Block).forward;
  return this.training ? checkpoint(() => plain.apply(this, args)) : plain.apply(this, args);
}

/** Turns checkpointing of every block on or off. For a PEFT model, pass its base model (peftModel.model):
 *  the adapters inside the blocks are recomputed with them. */
export function setGradientCheckpointing(model: PreTrainedModel, enabled = true): void {
  for (const path of modelLayout(model).blocks) {
    const block = model.getSubmodule(path) as Block;
    if (enabled) block.forward = checkpointedForward;
    else Reflect.deleteProperty(block, "forward");
  }
}

export function isGradientCheckpointing(model: PreTrainedModel): boolean {
  return modelLayout(model).blocks.some((path) => Object.hasOwn(model.getSubmodule(path), "forward"));
}

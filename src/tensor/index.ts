// The tensor engine's public surface.
import "./autograd.js";
import "./tensor-methods.js";

export {
  Tensor, Bf16Tensor, tensor, zeros, ones, full, zerosLike, onesLike, arange, randn, rand, randint, asTensor, numelOf,
} from "./tensor.js";
export type { DType, TensorData, NestedArray, GradNode } from "./tensor.js";
export { noGrad, enableGrad, isGradEnabled, releaseAfterBackward, result } from "./autograd.js";
export { Generator, defaultGenerator, manualSeed } from "./random.js";
export { releaseFloat32 } from "./pool.js";
export { checkpoint, type BlockResult } from "./checkpoint.js";
export type { GeneratorState } from "./random.js";
export * from "./ops/elementwise.js";
export * from "./ops/shape.js";
export * from "./ops/reduce.js";
export * from "./ops/matmul.js";
export * from "./ops/nn.js";
export * from "./ops/attention.js";
export * from "./ops/fused.js";

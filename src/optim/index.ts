export { Optimizer } from "./optimizer.js";
export type { OptimizerStateDict, ParamGroup, ParamsArg } from "./optimizer.js";
export { AdamW } from "./adamw.js";
export type { AdamWHyper } from "./adamw.js";
export { SGD } from "./sgd.js";
export type { SGDHyper } from "./sgd.js";
export { LRScheduler, constantSchedule, linearSchedule, cosineSchedule, schedule } from "./schedulers.js";
export type { ScheduleName } from "./schedulers.js";
export { clipGradNorm } from "./clip.js";

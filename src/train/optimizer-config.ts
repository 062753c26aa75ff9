// The optimizer set-up of Hugging Face's Trainer, shared by the ready-made modules: AdamW over the trainable
// parameters, no weight decay on biases and norm weights, and a warmup + decay schedule per optimizer step.
import type { Module } from "../nn/index.js";
import { AdamW, SGD, schedule, type ScheduleName } from "../optim/index.js";
import type { Tensor } from "../tensor/index.js";
import type { OptimizerConfig, TrainingPlan } from "./module.js";

export interface OptimizationOptions {
  lr?: number;
  weightDecay?: number;
  /** Fraction of the total steps spent warming up (HF rounds up); ignored when warmupSteps is given. */
  warmupRatio?: number;
  warmupSteps?: number;
  schedule?: ScheduleName;
  optimizer?: "adamw" | "sgd";
  betas?: [number, number];
  eps?: number;
  /** SGD only. */
  momentum?: number;
}

export function resolvedOptimization(opts: OptimizationOptions, defaultLr: number): Required<Omit<OptimizationOptions, "warmupSteps">> & { warmupSteps?: number } {
  return {
    lr: opts.lr ?? defaultLr,
    weightDecay: opts.weightDecay ?? 0,
    warmupRatio: opts.warmupRatio ?? 0,
    warmupSteps: opts.warmupSteps,
    schedule: opts.schedule ?? "linear",
    optimizer: opts.optimizer ?? "adamw",
    betas: opts.betas ?? [0.9, 0.999],
    eps: opts.eps ?? 1e-8,
    momentum: opts.momentum ?? 0,
  };
}

/** Biases and normalization weights are not decayed (HF's get_parameter_names excludes LayerNorm and bias). */
function decays(name: string): boolean {
  return !/(^|\.)bias$/.test(name) && !/norm/i.test(name);
}

export function configureDefaultOptimizer(model: Module, opts: OptimizationOptions, defaultLr: number, plan: TrainingPlan): OptimizerConfig {
  const o = resolvedOptimization(opts, defaultLr);
  const decay: Tensor[] = [], noDecay: Tensor[] = [];
  for (const [name, p] of model.namedParameters()) if (p.requiresGrad) (decays(name) ? decay : noDecay).push(p);
  if (decay.length + noDecay.length === 0) throw new Error("configureOptimizers: the model has no trainable parameters (is every parameter frozen?)");
  const groups = [
    ...(decay.length ? [{ params: decay, weightDecay: o.weightDecay }] : []),
    ...(noDecay.length ? [{ params: noDecay, weightDecay: 0 }] : []),
  ];
  const optimizer = o.optimizer === "sgd"
    ? new SGD(groups, { lr: o.lr, momentum: o.momentum })
    : new AdamW(groups, { lr: o.lr, betas: o.betas, eps: o.eps });
  const warmup = o.warmupSteps ?? Math.ceil(o.warmupRatio * plan.totalSteps);
  return { optimizer, scheduler: schedule(o.schedule, optimizer, warmup, plan.totalSteps) };
}

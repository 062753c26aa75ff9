// The contract between the Trainer and what it trains, shaped like Lightning's LightningModule.
//
// Metric names: steps and epoch-end hooks return unprefixed names ("loss", "acc"); the Trainer prefixes them
// with the stage, Lightning style: train_loss, val_loss, val_acc, test_f1, ... (train_loss_epoch is the mean
// training loss of an epoch). Those prefixed names are what loggers, callbacks (monitor: "val_loss") and
// validate()/test() see.
import type { Batch } from "../data/collate.js";
import type { ModelInput, ModelOutput } from "../models/outputs.js";
import type { Module } from "../nn/index.js";
import type { LRScheduler, Optimizer } from "../optim/index.js";
import type { Tensor } from "../tensor/index.js";

export type Metrics = Record<string, number>;

export interface OptimizerConfig {
  optimizer: Optimizer<{ lr: number }>;
  /** Stepped once after every optimizer step. */
  scheduler?: LRScheduler;
}

export interface TrainingPlan {
  /** Optimizer steps the fit will take (maxSteps, or epochs × steps per epoch), for warmup and decay. */
  totalSteps: number;
}

/** A loss, or a loss and batch metrics that the trainer averages (weighted by batch size) between logs. */
export type TrainingStepOutput = Tensor | ({ loss: Tensor } & Record<string, Tensor | number>);

export interface TrainingModule<B = Batch> {
  /** Trained, switched between train/eval mode, and checkpointed (its trainable weights) by the trainer. */
  readonly model: Module;
  /** Logged once by loggers at the start of fit. */
  readonly hparams?: Record<string, unknown>;
  configureOptimizers(plan: TrainingPlan): OptimizerConfig;
  trainingStep(batch: B, batchIdx: number): TrainingStepOutput;
  /** Per-batch metrics (averaged over the epoch, weighted by batch size), or nothing when the module keeps its
   *  own totals for onValidationEpochEnd. Runs under noGrad with the model in eval mode. */
  validationStep?(batch: B, batchIdx: number): Metrics | void;
  onValidationEpochStart?(): void;
  /** Epoch-level metrics (e.g. macro F1 over all predictions); they override same-named step averages. */
  onValidationEpochEnd?(): Metrics | void;
  testStep?(batch: B, batchIdx: number): Metrics | void;
  onTestEpochStart?(): void;
  onTestEpochEnd?(): Metrics | void;
  predictStep?(batch: B, batchIdx: number): unknown;
}

/** The forward contract of src/models (see outputs.ts). */
export interface ForwardModel extends Module {
  forward(input: ModelInput): ModelOutput;
}

/** The model input for a collated batch. A packed batch goes without its attention mask: the restarts of its
 *  position ids tell the model where each sequence starts (and its padding is a sequence of its own). */
export function modelInput(batch: Batch): ModelInput {
  const input: ModelInput = batch.positionIds
    ? { inputIds: batch.inputIds, positionIds: batch.positionIds, labels: batch.labels }
    : { inputIds: batch.inputIds, attentionMask: batch.attentionMask, labels: batch.labels };
  if (batch.tokenTypeIds) input.tokenTypeIds = batch.tokenTypeIds;
  return input;
}

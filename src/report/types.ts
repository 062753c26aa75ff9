// report.json: what `finetune compare` measured, one entry per method. Methods are named as the CLI names them
// (`--methods`); the file is data, so nothing here depends on the CLI's code.
import type { LearningRate, LrFindSummary } from "../train/lr-finder.js";

/** 2: the data digest, every hyperparameter, the method options and the pending methods, which resuming checks and needs.
 *  3: the per-method learning rates asked for (methodLr), since the rate a method's default gives depends on the model.
 *  4: an entry's kind of method is `category` (was `family`, a word kept for model families). */
export const REPORT_FORMAT = 4;

export interface MethodEntry {
  method: string;
  label: string;
  /** feature-based, layer fine-tuning or parameter-efficient. */
  category: string;
  /** Wall-clock training seconds; feature-based includes running the frozen model over the training texts. */
  trainSeconds: number;
  /** Feature-based only: the extraction part of trainSeconds. */
  extractSeconds: number | null;
  steps: number | null;
  /** The learning rate used (null for feature-based, whose classifier has its own solver). */
  lr: number | null;
  /** The range test that chose `lr`, when it was "auto". */
  lrFind: LrFindSummary | null;
  trainableParams: number;
  totalParams: number;
  /** Bytes of the saved model, adapter or classifier file. */
  artifactBytes: number;
  /** Peak resident set size of the process while the method ran, in bytes. */
  peakRssBytes: number;
  testAccuracy: number;
  testMacroF1: number;
  testLoss: number;
  validationAccuracy: number | null;
  validationMacroF1: number | null;
  /** Folder of the method's trained output, relative to the report. */
  output: string;
}

export interface FailedMethod {
  method: string;
  label: string;
  error: string;
}

export interface ComparisonReport {
  format: typeof REPORT_FORMAT;
  createdAt: string;
  model: string;
  labels: string[];
  rows: { train: number; validation: number; test: number };
  /** sha256 over every split's texts and labels. */
  dataSha256: string;
  budget: {
    epochs: number | null; maxSteps: number | null; batchSize: number; maxLength: number; seed: number; lr: LearningRate | null;
    weightDecay: number; warmupRatio: number; gradAccum: number; clip: number | null;
  };
  /** The CLI's method options (LoRA rank, virtual tokens, ...), as given. */
  methodOptions: Readonly<Record<string, unknown>>;
  /** --method-lr: the rates (or "auto") asked for per method, over budget.lr. */
  methodLr: Readonly<Partial<Record<string, LearningRate>>>;
  environment: { node: string; platform: string; cpu: string; cores: number; backend: string; threads: number };
  methods: MethodEntry[];
  failed: FailedMethod[];
  /** Methods not run yet: a comparison that was interrupted (empty when it finished). */
  pending: string[];
  chart: { svg: string; png: string; xScale: "log" | "linear"; pngFont: string | null; pngHasText: boolean };
}

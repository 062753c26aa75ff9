// peft_type -> tuner. Each method folder registers itself when src/peft/index.ts imports it.
import type { PeftConfig, PeftType } from "./config.js";
import type { Tuner } from "./tuner.js";

const tuners = new Map<PeftType, Tuner>();

export function registerTuner(peftType: PeftType, tuner: Tuner): void {
  tuners.set(peftType, tuner);
}

export function tunerFor(config: PeftConfig): Tuner {
  const t = tuners.get(config.peftType);
  if (!t) throw new Error(`no tuner registered for peft_type ${config.peftType}`);
  return t;
}

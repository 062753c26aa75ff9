// Parameter counts in the shape PEFT reports them, so logs compare line for line with Python runs.
import type { Module } from "../nn/index.js";
import type { Tensor } from "../tensor/index.js";

export interface ParameterCount {
  trainable: number;
  all: number;
}

/** Each distinct tensor once: a tied weight (GPT-2's wte / lm_head) counts once, as in PEFT. */
export function countParameters(model: Module): ParameterCount {
  let trainable = 0, all = 0;
  for (const p of model.parameters()) {
    all += p.numel;
    if (p.requiresGrad) trainable += p.numel;
  }
  return { trainable, all };
}

/** The parameters an optimizer should get, with their state-dict names. */
export function trainableParameters(model: Module): [string, Tensor][] {
  return [...model.namedParameters()].filter(([, p]) => p.requiresGrad);
}

/** PEFT's print_trainable_parameters line:
 *  `trainable params: 592,130 || all params: 66,955,010 || trainable%: 0.8844`. */
export function formatTrainableParameters(model: Module): string {
  return formatParameterCount(countParameters(model));
}

export function formatParameterCount({ trainable, all }: ParameterCount): string {
  return `trainable params: ${groupThousands(trainable)} || all params: ${groupThousands(all)} || trainable%: ${
    formatFixed((100 * trainable) / all, 4)}`;
}

export function printTrainableParameters(model: Module): void {
  console.log(formatTrainableParameters(model));
}

/** Python's `{:,d}`. */
function groupThousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** Python's `{:.Nf}`: correctly rounded, ties to even. JS toFixed breaks exact ties upwards
 *  (12.03125 → "12.0313" where Python prints "12.0312"), so exact ties are settled on the digits. */
export function formatFixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return x !== x ? "nan" : x > 0 ? "inf" : "-inf";
  // A double's decimal expansion is finite; 100 digits holds it exactly for every value PEFT prints.
  const exact = Math.abs(x).toFixed(100);
  const dot = exact.indexOf(".");
  const rest = exact.slice(dot + 1 + digits);
  const tie = rest[0] === "5" && /^0*$/.test(rest.slice(1));
  if (!tie) return x.toFixed(digits);
  const kept = exact.slice(0, dot + 1 + digits);
  const lastDigit = Number(kept[kept.length - 1] === "." ? kept[kept.length - 2] : kept[kept.length - 1]);
  const rounded = lastDigit % 2 === 0 ? kept.replace(/\.$/, "") : Math.abs(x).toFixed(digits);
  return (x < 0 ? "-" : "") + rounded;
}

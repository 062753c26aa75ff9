// Reproducible test inputs from the project's own seeded generator (src/data/split.ts).
import { mulberry32 } from "../../src/data/split.js";

/** rand() in [0, 1) and randomArray(n, scale): uniform values in (-scale, scale), one stream per seed. */
export function seededInputs(seed: number): { rand: () => number; randomArray: (n: number, scale?: number) => Float32Array } {
  const rand = mulberry32(seed);
  return { rand, randomArray: (n, scale = 1) => Float32Array.from({ length: n }, () => (2 * rand() - 1) * scale) };
}

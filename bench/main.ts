// `npm run bench -- <suite> [--json] [...]`: runs one benchmark suite (all when none is named).
// Each suite prints a human table, or with --json one JSON object as its last line.
// `npm run bench -- <suite> --help` prints that suite's options; `npm run bench -- --help`, every suite's.
import { isHelp, usageOf } from "./usage.js";

const suites: Record<string, () => Promise<{ main(argv: string[]): Promise<unknown> }>> = {
  gemm: () => import("./gemm.js"),
  inference: () => import("./inference.js"),
  llm: () => import("./llm.js"),
  packing: () => import("./packing.js"),
  peak: () => import("./peak.js"),
  pretrain: () => import("./pretrain.js"),
  train: () => import("./train.js"),
};

const [name, ...rest] = process.argv.slice(2);
const named = name !== undefined && !name.startsWith("-");
const chosen = named ? [name] : Object.keys(suites);
const argv = named ? rest : process.argv.slice(2);
if (!named && argv.some(isHelp)) {
  const files = ["main", ...chosen].map((s) => usageOf(new URL(`./${s}.ts`, import.meta.url).href));
  console.log(files.join("\n\n"));
  process.exit(0);
}
for (const s of chosen) {
  const load = suites[s];
  if (!load) {
    console.error(`unknown bench suite "${s}"; choose from ${Object.keys(suites).join(", ")}`);
    process.exit(2);
  }
  await (await load()).main(argv);
}

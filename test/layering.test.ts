// The layers of src/, lowest first: this list is where the order is written down (docs/extending.md points here).
// A folder may import from folders of lower layers only; folders of one layer do not import each other. So the
// engine never depends on training, training never on the CLI, and each layer can be read, tested and reused
// without the ones above it. The order is the one the code needs: models read data/collate's IGNORE_INDEX, so
// data sits below models; the classic methods tokenize through train; PEFT counts parameters with methods.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const LAYERS: readonly (readonly string[])[] = [
  ["warnings"], // the one channel every layer reports warnings through
  ["backend", "io"], // kernels; file formats and the hub
  ["tensor"], // tensors and autograd
  ["nn", "optim", "tokenizers", "data"], // modules, optimizers, tokenizers, data files and loaders
  ["bundled"], // the data and models shipped with the package (tasks as rows or chat conversations)
  ["models"], // model families, Auto classes, loading and saving
  ["train", "export"], // the Trainer and what it trains; model export (GGUF)
  ["methods"], // the classic fine-tuning approaches: freezing, feature-based classifiers
  ["peft"], // parameter-efficient fine-tuning
  ["pretrain"], // pretraining from scratch or further
  ["report"], // the comparison report's file format, table and chart
  ["cli"], // the `finetune` command
];
/** Files directly in src/ are the package's entry points, above every layer. */
const ENTRY = Infinity;

const SRC = fileURLToPath(new URL("../src/", import.meta.url));

function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sources(path);
    else if (name.endsWith(".ts")) yield path;
  }
}

/** The top folder of src/ a path is in, or null for a file directly in src/. */
function folderOf(path: string): string | null {
  const parts = relative(SRC, path).split(/[\\/]/);
  return parts.length > 1 ? parts[0]! : null;
}

function layerOf(folder: string | null): number {
  if (folder === null) return ENTRY;
  const i = LAYERS.findIndex((l) => l.includes(folder));
  assert.notEqual(i, -1, `src/${folder}/ is in no layer: add it to LAYERS in test/layering.test.ts, above every folder it imports from`);
  return i;
}

/** The imports of one source file (static, type-only, re-exports and dynamic import()) that break the layering. */
function upwardImports(file: string, text: string): string[] {
  const from = folderOf(file);
  if (from === null) return [];
  const out: string[] = [];
  for (const ref of ts.preProcessFile(text, true, true).importedFiles) {
    if (!ref.fileName.startsWith(".")) continue;
    const to = folderOf(resolve(dirname(file), ref.fileName));
    if (to === from || layerOf(to) < layerOf(from)) continue;
    const line = text.slice(0, ref.pos).split("\n").length;
    out.push(`${relative(join(SRC, ".."), file)}:${line} imports "${ref.fileName}" (src/${from}/ may not depend on ${to === null ? "the package entry" : `src/${to}/`})`);
  }
  return out;
}

test("every folder of src/ has a layer", () => {
  const folders = readdirSync(SRC).filter((name) => statSync(join(SRC, name)).isDirectory());
  for (const folder of folders) layerOf(folder);
  for (const folder of LAYERS.flat()) assert.ok(folders.includes(folder), `LAYERS names src/${folder}/, which does not exist`);
});

test("nothing in src/ imports from its own layer or a layer above it", () => {
  const upward = [...sources(SRC)].flatMap((file) => upwardImports(file, readFileSync(file, "utf8")));
  assert.deepEqual(upward, [], `imports that break the layering of test/layering.test.ts:\n${upward.join("\n")}`);
});

test("the check names the file, line and import of every kind of upward import", () => {
  const text = [
    'import { join } from "node:path";',
    'import { formatBytes } from "./format.js";',
    'import { Tensor } from "../tensor/index.js";',
    'import { UsageError } from "../cli/command.js";',
    'import type { RunInput } from "../cli/pipeline/fine-tune.js";',
    'export { main } from "../cli/main.js";',
    'const doctor = () => import("../cli/commands/doctor.js");',
    'import "../index.js";',
  ].join("\n");
  const found = upwardImports(join(SRC, "report", "example.ts"), text);
  assert.deepEqual(found, [
    'src/report/example.ts:4 imports "../cli/command.js" (src/report/ may not depend on src/cli/)',
    'src/report/example.ts:5 imports "../cli/pipeline/fine-tune.js" (src/report/ may not depend on src/cli/)',
    'src/report/example.ts:6 imports "../cli/main.js" (src/report/ may not depend on src/cli/)',
    'src/report/example.ts:7 imports "../cli/commands/doctor.js" (src/report/ may not depend on src/cli/)',
    'src/report/example.ts:8 imports "../index.js" (src/report/ may not depend on the package entry)',
  ]);
  assert.deepEqual(upwardImports(join(SRC, "nn", "example.ts"), 'import { Tensor } from "../tensor/index.js";\nimport { AdamW } from "../optim/index.js";'), [
    'src/nn/example.ts:2 imports "../optim/index.js" (src/nn/ may not depend on src/optim/)',
  ]);
});

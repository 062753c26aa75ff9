// Adding a PEFT method from outside the library, as docs/extending.md describes: the toy method in ./feature-scale
// registers itself with registerPeftMethod alone, and the command line, run in this process (its main(), as a
// user's script would), offers it like a built-in one: help, train, predict, merge and compare.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import "./feature-scale/index.js";
import { main } from "../../src/cli/main.js";
import { loadSafetensors, peftConfigFromJson } from "../../src/index.js";
import { REPO, UCI, removeTempDirs, tempDir, tinyDistilBertDir } from "../cli/tiny-models.js";

after(removeTempDirs);

let model: string;
let work: string;
before(async () => {
  model = await tinyDistilBertDir();
  work = await tempDir();
});

/** main() with what it prints on stdout collected (progress goes to stderr as usual); errors end up in `stderr`. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [], err: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => { out.push(a.join(" ")); };
  console.error = (...a: unknown[]) => { err.push(a.join(" ")); };
  try {
    const code = await main(args);
    return { code, stdout: out.join("\n"), stderr: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

const ROWS = "48";
const data = ["--train", join(UCI, "train.jsonl"), "--validation", join(UCI, "validation.jsonl"), "--test", join(UCI, "test.jsonl"),
  "--max-rows", ROWS, "--label-names", "neg,pos", "--max-length", "32", "--batch-size", "8"];
const TEXTS = ["a wonderful, moving film", "the battery died after a day"];

async function probabilities(folder: string): Promise<number[][]> {
  const r = await cli(["predict", "--model", folder, "--json", ...TEXTS]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim().split("\n").map((l) => {
    const p = JSON.parse(l) as { label: string; probabilities: Record<string, number> };
    assert.ok(["neg", "pos"].includes(p.label), p.label);
    return [p.probabilities.neg, p.probabilities.pos];
  });
}

test("help lists the registered method, its shared option and its mergeability", async () => {
  const train = await cli(["train", "--help"]);
  assert.match(train.stdout, /--method METHOD\s+one of feature, head, last-layers, full, lora, prompt, p-tuning, prefix, ia3, adapter, scale\n/);
  assert.match(train.stdout, /\n {2}prefix, ia3, adapter,\n {2}scale\n/);
  assert.match(train.stdout, /--target-modules M1,M2\s+lora, ia3, scale: module names to adapt/);
  assert.match((await cli(["merge", "--help"])).stdout, /Only LoRA, IA3 and feature scale adapters can be merged\./);
  assert.match((await cli(["compare", "--help"])).stdout, /methods to compare \(default feature,head,last-layers,full,lora,prompt,p-tuning,prefix,adapter,scale\)/);
});

test("train writes a PEFT adapter of the new method; predict loads it; merge folds it into the weights", async () => {
  const out = join(work, "scale");
  const trained = await cli(["train", "--model", model, "--method", "scale", ...data, "--max-steps", "4", "--output", out]);
  assert.equal(trained.code, 0, trained.stderr);
  assert.match(trained.stdout, /^saved to .* \(adapter: /m);

  const config = JSON.parse(await readFile(join(out, "adapter_config.json"), "utf8")) as Record<string, unknown>;
  assert.equal(config.peft_type, "FEATURE_SCALE");
  assert.deepEqual(config.target_modules, ["q_lin", "v_lin"]);
  assert.equal(config.base_model_name_or_path, model);
  assert.equal(peftConfigFromJson(config).constructor.name, "FeatureScaleConfig");
  const { tensors } = await loadSafetensors(join(out, "adapter_model.safetensors"));
  const scales = [...tensors].filter(([k]) => k.endsWith(".feature_scale"));
  // Two layers, query and value each: PEFT's key rule dropped the adapter name.
  assert.equal(scales.length, 4, [...tensors.keys()].join(", "));
  assert.ok(scales.some(([, t]) => [...t.data].some((v) => Math.abs(Number(v) - 1) > 1e-6)), "training moved the scales from 1");

  const adapter = await probabilities(out);
  const merged = join(work, "scale-merged");
  const m = await cli(["merge", "--adapter", out, "--output", merged]);
  assert.equal(m.code, 0, m.stderr);
  const plain = await probabilities(merged);
  for (const [i, row] of adapter.entries()) for (const [j, p] of row.entries()) assert.ok(Math.abs(p - plain[i]![j]!) < 1e-5, `${p} vs ${plain[i]![j]}`);
});

test("compare runs the new method beside a built-in one and reports it under its label", async () => {
  const out = join(work, "compare");
  const r = await cli(["compare", "--model", model, ...data, "--methods", "head,scale", "--max-steps", "2", "--output", out]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(await readFile(join(out, "report.json"), "utf8")) as { methods: { method: string; label: string; category: string }[] };
  const entry = report.methods.find((e) => e.method === "scale");
  assert.deepEqual(entry && [entry.label, entry.category], ["feature scale", "parameter-efficient"]);
  assert.equal((await probabilities(join(out, "scale"))).length, TEXTS.length);
});

test("docs/extending.md shows this method's registration as it is", async () => {
  const [doc, source] = await Promise.all([join(REPO, "docs/extending.md"), join(REPO, "test/extending/feature-scale/index.ts")].map((f) => readFile(f, "utf8")));
  const registration = /^registerPeftMethod\(\{[\s\S]*?^\}\);$/m.exec(source)![0];
  assert.ok(doc.includes(registration), "docs/extending.md's Add a PEFT method section no longer shows test/extending/feature-scale/index.ts's registerPeftMethod call");
  for (const path of ["src/peft/tuners/<method>/", "test/extending/feature-scale/", "finetune-ts/cli"]) assert.ok(doc.includes(path), `docs/extending.md names ${path}`);
});

// bfloat16 frozen weights: the packed bf16 GEMM of every native micro-kernel against the TypeScript reference,
// the FINETUNE_BF16_GEMM switch, and the accuracy cost on the fixtures (logits and LoRA gradients vs float32).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { setBackend, typescriptBackend } from "../src/backend/index.js";
import { packBf16, roundToBf16, unpackBf16 } from "../src/backend/bf16.js";
import { loadNativeBackend, nativeInfo, useBf16Gemm } from "../src/backend/native.js";
import { trainLastLayers } from "../src/methods/freeze.js";
import { AutoModelForCausalLM, AutoModelForSequenceClassification } from "../src/models/index.js";
import type { PreTrainedModel } from "../src/models/pretrained.js";
import { getPeftModel, peftConfigFromJson } from "../src/peft/index.js";
import { Bf16Tensor, Tensor, linear, manualSeed, noGrad, randn, sum } from "../src/tensor/index.js";
import { FIXTURES, fixtureDir, loadInputs, loadJson, loadTensors } from "./helpers/fixtures.js";

const FAMILIES = readdirSync(FIXTURES).filter((d) => !d.includes(".")).sort();

function randomArray(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
}

/** ‖got − ref‖ / ‖ref‖. */
function relErr(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let d = 0, r = 0;
  for (let i = 0; i < ref.length; i++) { d += (got[i] - ref[i]) ** 2; r += ref[i] ** 2; }
  return Math.sqrt(d / r);
}

test("packed bf16: values round to nearest even and unpack in either orientation", () => {
  const x = new Float32Array([1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, -2.5, 1e-30, NaN, 3e38, 7]); // [2, 4]
  assert.deepEqual([...unpackBf16(packBf16(x, 2, 4))].map((v) => (Number.isNaN(v) ? "NaN" : v)),
    [1, 1, 1 + 2 ** -6, -2.5, roundToBf16(1e-30), "NaN", roundToBf16(3e38), 7]);
  const t = Bf16Tensor.fromValues(x, [2, 4], true); // packed [4, 2]
  assert.deepEqual(t.packed.rows, 4);
  assert.deepEqual([...t.data].slice(0, 4), [1, 1, 1 + 2 ** -6, -2.5]);
  assert.throws(() => { t.requiresGrad = true; }, /bfloat16 weight cannot require grad/);
});

// Shapes with ragged panels, odd k, k = 1 and more rows than one block; two rows of a weight big enough to be read
// by two threads (a generation step).
const SHAPES = [[1, 1, 1], [5, 33, 7], [37, 70, 301], [200, 96, 520], [13, 64, 3], [3, 1, 65], [2, 600, 521]];

for (const kernel of nativeInfo().bf16Kernels) {
  test(`bf16 GEMM ${kernel} matches the TypeScript reference, forward and transposed, with and without a bias`, () => {
    useBf16Gemm(kernel);
    try {
      const native = loadNativeBackend();
      let seed = 1;
      for (const [m, rows, cols] of SHAPES) {
        for (const transW of [false, true]) {
          const w = packBf16(randomArray(rows * cols, seed++), rows, cols);
          const inF = transW ? rows : cols, outF = transW ? cols : rows;
          const a = randomArray(m * (inF + 1) + 3, seed++), c0 = randomArray(m * (outF + 2) + 2, seed++);
          const bias = (m + Number(transW)) % 2 ? randomArray(outF, seed++) : null; // each shape both ways
          const g = { transW, m, alpha: 0.75, a, aOffset: 3, lda: inF + 1, w, beta: 0.5, cOffset: 2, ldc: outF + 2, bias };
          const got = c0.slice(), want = c0.slice();
          native.gemmBf16({ ...g, c: got });
          typescriptBackend.gemmBf16({ ...g, c: want });
          // fp32 accumulation of k exact bf16 products: error ≤ k · 2⁻²⁴ · Σ|terms|; 1e-4 · Σ|terms| bounds it for
          // k ≤ 1600, and a wrong element (a term dropped or misplaced) is off by about a whole term.
          const W = unpackBf16(w, transW);
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < outF; j++) {
              let mag = 0;
              for (let p = 0; p < inF; p++) mag += Math.abs(roundToBf16(a[3 + i * (inF + 1) + p]) * W[j * inF + p]);
              const at = 2 + i * (outF + 2) + j;
              assert.ok(Math.abs(got[at] - want[at]) <= 1e-4 * 0.75 * mag + 1e-7 * (1 + Math.abs(bias?.[j] ?? 0)),
                `[${m}, ${rows}, ${cols}] transW ${transW} C[${i}, ${j}]: ${got[at]} vs ${want[at]}`);
            }
            for (let j = outF; j < outF + 2; j++) assert.equal(got[2 + i * (outF + 2) + j], c0[2 + i * (outF + 2) + j], "beyond ldc untouched");
          }
        }
      }
    } finally {
      useBf16Gemm(nativeInfo().bf16Kernels[0]);
    }
  });
}

test("FINETUNE_BF16_GEMM forces the portable widening kernel", () => {
  const addon = fileURLToPath(new URL("../src/backend/native.ts", import.meta.url));
  const r = spawnSync(process.execPath, ["--import", "tsx", "-e",
    `import(${JSON.stringify(addon)}).then((m) => console.log(m.nativeInfo().bf16Kernel))`],
  { env: { ...process.env, FINETUNE_BF16_GEMM: "generic" }, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "generic");
});

test("a linear layer on a bf16 weight: forward and dX as float32 on the rounded weight and input, both orientations", () => {
  manualSeed(3);
  for (const inOut of [false, true]) {
    const w = randn(inOut ? [24, 40] : [40, 24]);
    const wb = Bf16Tensor.fromValues(w.f, w.shape, inOut);
    const wr = new Tensor(wb.data, w.shape); // the rounded values in float32
    const x = randn([3, 5, 24]).setRequiresGrad(true);
    const xr = new Tensor(Float32Array.from(x.f, roundToBf16), x.shape).setRequiresGrad(true);
    const y = linear(x, wb, null, inOut), yr = linear(xr, wr, null, inOut);
    assert.ok(relErr(y.f, yr.f) < 1e-6, `forward ${relErr(y.f, yr.f)}`);
    sum(y).backward();
    sum(yr).backward();
    // dX rounds dY to bf16: the ones of sum() are exact.
    assert.ok(relErr(x.grad!.f, xr.grad!.f) < 1e-6, `dX ${relErr(x.grad!.f, xr.grad!.f)}`);
  }
});

function loadFixture(family: string, dtype?: "bfloat16"): Promise<PreTrainedModel> {
  const [arch] = loadJson(family, "config.json").architectures as string[];
  const Auto = /(ForCausalLM|LMHeadModel)$/.test(arch) ? AutoModelForCausalLM : AutoModelForSequenceClassification;
  return Auto.fromPretrained(fixtureDir(family), { onWarning: () => {}, dtype });
}

// The accuracy cost. bf16 keeps 8 significant bits: each weight and each input of a product is rounded by up to
// 2⁻⁹ ≈ 2e-3 relative, and the errors of a few layers add up. On these tiny random models the logits move by
// 0.5-1.7% (norm-relative; docs/performance.md has the table), so 3e-2 bounds the cost with margin while a
// wrong product (a weight misplaced or not rounded consistently) is off by order 1. Native and TypeScript
// round the same activations to bf16, so they agree to far less.
for (const family of FAMILIES) {
  test(`${family}: bf16 frozen weights move logits by < 3e-2 of float32, native agrees with TypeScript`, async () => {
    const inputs = loadInputs(family);
    setBackend("native");
    const fp32 = await loadFixture(family);
    const ref = noGrad(() => fp32.forward(inputs).logits.f);
    const bf16 = await loadFixture(family, "bfloat16");
    const params = bf16.parameters();
    assert.ok(params.some((p) => p.dtype === "bfloat16"), "no bf16 weights");
    for (const [name, p] of bf16.namedParameters())
      if (p.dtype !== "bfloat16") assert.ok(p.ndim === 1 || /classifier|score|pre_classifier|dense|pooler|head/.test(name), `${name} stayed float32`);
    const native = noGrad(() => bf16.forward(inputs).logits.f);
    const cost = relErr(native, ref);
    assert.ok(cost < 3e-2 && cost > 0, `logits vs float32: ${cost.toExponential(2)}`);
    setBackend("typescript");
    try {
      const reference = noGrad(() => bf16.forward(inputs).logits.f);
      assert.ok(relErr(native, reference) < 2e-3, `native vs TypeScript: ${relErr(native, reference).toExponential(2)}`);
    } finally {
      setBackend("native");
    }
  });
}

test("LoRA on a bf16 base: gradients flow through the frozen bf16 weights close to float32's; merge keeps bf16", async () => {
  setBackend("native");
  for (const family of ["llama", "gpt2"]) {
    const config = peftConfigFromJson(loadJson(family, "lora", "adapter_config.json"));
    config.inferenceMode = false;
    const peft = getPeftModel(await loadFixture(family, "bfloat16"), config);
    const initial = loadTensors(family, "lora", "trainable_params.safetensors");
    for (const [name, p] of peft.namedParameters()) if (p.requiresGrad) p.copy_(initial.get(name)!);
    peft.eval();
    const expected = loadTensors(family, "lora", "expected.safetensors");
    const out = peft.forward(loadInputs(family));
    out.loss!.backward();
    let checked = 0;
    for (const [name, p] of peft.namedParameters()) {
      if (!p.requiresGrad) continue;
      assert.equal(p.dtype, "float32", name);
      const want = expected.get(`grad.${name}`)!;
      assert.ok(relErr(p.grad!.f, want.f) < 5e-2, `${family} ${name}: gradient ${relErr(p.grad!.f, want.f).toExponential(2)} from float32's`);
      checked++;
    }
    assert.ok(checked > 0);
    const merged = peft.mergeAndUnload();
    assert.ok(merged.parameters().some((p) => p.dtype === "bfloat16"), "merged weights stay bf16");
  }
});

test("last layers on a bf16 base: the trained block is widened to float32, the frozen ones stay bf16", async () => {
  const m = await loadFixture("llama", "bfloat16");
  const names = trainLastLayers(m, 1);
  const sd = m.stateDict();
  for (const name of names) assert.equal(sd.get(name)!.dtype, "float32", name);
  assert.equal(sd.get("model.layers.0.self_attn.q_proj.weight")!.dtype, "bfloat16");
  assert.equal(sd.get("model.layers.1.self_attn.q_proj.weight")!.dtype, "float32");
  assert.ok(sd.get("model.layers.1.self_attn.q_proj.weight")!.requiresGrad);
});

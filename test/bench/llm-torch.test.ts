// The LLM bench compares like with like: bench/torch/llm_bench.py's plain-torch Llama, given the weights of one of
// ours (a tiny model of the bench's kind: tied embeddings, grouped-query attention), computes the same logits and
// loss, and greedy decoding with its key/value cache picks the same tokens as our generate().
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { LLM_SIZES } from "../../bench/llm-case.js";
import { LlamaForCausalLM, llamaConfig } from "../../src/models/llama/index.js";
import { manualSeed, noGrad, randint } from "../../src/tensor/index.js";
import { scratchDir } from "../helpers/temp-dir.js";

const PYTHON = "/usr/bin/python3";
const ANCHOR = fileURLToPath(new URL("../../bench/torch/llm_bench.py", import.meta.url));
const hasTorch = spawnSync(PYTHON, ["-c", "import torch"]).status === 0;
const skip = hasTorch ? false : `${PYTHON} cannot import torch: apt-get install python3-torch`;

test("llm bench: the PyTorch reference and our Llama give the same logits, loss and greedy tokens", { skip }, async () => {
  manualSeed(3);
  // Larger init than the default 0.02 so the logits spread and the greedy picks are not near-ties.
  const model = new LlamaForCausalLM(llamaConfig({ ...LLM_SIZES.tiny, rmsNormEps: 1e-5, ropeTheta: 100000, tieWordEmbeddings: true,
    maxPositionEmbeddings: 256, eosTokenId: null, initializerRange: 0.2 })).eval();
  const dir = await scratchDir("finetune-llm-torch-");
  await model.savePretrained(dir);
  const ids = randint(0, LLM_SIZES.tiny.vocabSize, [2, 12]);
  const newTokens = 8;
  const spec = { input_ids: ids.toArray(), new_tokens: newTokens };
  writeFileSync(join(dir, "ids.json"), JSON.stringify(spec));
  const r = spawnSync(PYTHON, [ANCHOR, "--check", dir, join(dir, "ids.json")], { encoding: "utf8", maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, r.stderr);
  const ref = JSON.parse(r.stdout.trim().split("\n").pop()!) as { logits: number[]; loss: number; generated: number[][] };

  const out = noGrad(() => model.forward({ inputIds: ids, labels: ids }));
  assert.equal(out.logits.numel, ref.logits.length);
  let diff = 0, scale = 0;
  out.logits.data.forEach((v, i) => { diff = Math.max(diff, Math.abs(v - ref.logits[i])); scale = Math.max(scale, Math.abs(ref.logits[i])); });
  assert.ok(scale > 1, `logits too flat to compare (max |logit| ${scale})`);
  assert.ok(diff <= 1e-4 * scale, `logits differ by up to ${diff} (max |logit| ${scale})`);
  assert.ok(Math.abs(out.loss!.item() - ref.loss) <= 1e-5 * ref.loss, `loss ${out.loss!.item()} vs ${ref.loss}`);

  const ours = model.generate(ids, { maxNewTokens: newTokens }).toArray() as number[][];
  assert.deepEqual(ours.map((row) => row.slice(12)), ref.generated);
});

// The offline LLM path `npm run demo:llm` takes, on a CI budget: the bundled causal LM, LoRA on the bundled
// instruction task for a handful of steps, base and tuned scored on the same conversations.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, test } from "node:test";
import { demoLlm, report } from "../../scripts/demo-llm.js";
import { removeTempDirs, tempDir } from "./tiny-models.js";

after(removeTempDirs);

test("demo:llm on a small budget: LoRA on bundled:sentiment-chat lowers the completion loss of the conversations it trained on", async () => {
  const output = join(await tempDir(), "demo-llm");
  const r = await demoLlm({ steps: 4, trainRows: 8, heldOutRows: 4, shown: 2, output, trainFlags: ["--batch-size", "8"] });
  assert.equal(r.trainRows, 4);
  assert.equal(r.heldOutRows, 4);
  assert.ok(r.tuned.trainLoss < r.base.trainLoss - 0.1, `train completion loss ${r.base.trainLoss} -> ${r.tuned.trainLoss}`);
  for (const k of ["base", "tuned"] as const) {
    assert.ok(Number.isFinite(r[k].heldOutLoss) && r[k].exactMatch >= 0 && r[k].exactMatch <= 1, JSON.stringify(r[k]));
  }
  assert.deepEqual(r.answers.map((a) => a.reference), ["positive", "negative"]);
  assert.match(report(r), /\| base \| [\d.]+ \| [\d.]+% \| [\d.]+ \|\n\| tuned \|/);
});

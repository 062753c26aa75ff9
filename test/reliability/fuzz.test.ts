// Seeded fuzzing of real files: 490 mutations of a model's weights, a LoRA adapter's weights, prompt-learning and
// LoRA adapter configs, a tokenizer, tokenizers with random Split / Replace patterns, and a Parquet data file (see
// helpers/fuzz-cases.ts for the mutations and what counts as a pass).
// Each category runs in a child process; a case that takes longer than CASE_TIMEOUT_MS is a hang: the child is killed
// and the case reported. FUZZ_SEED=<n> replays another seed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { CASES, type CaseResult, type Category } from "./helpers/fuzz-cases.js";
import { ROOT, tempDir } from "./helpers/common.js";

const SEED = Number(process.env.FUZZ_SEED ?? 20240611);
const CASE_TIMEOUT_MS = 15_000;
const CHILD = fileURLToPath(new URL("./helpers/fuzz-child.ts", import.meta.url));

function runChild(category: Category, dir: string): Promise<{ results: CaseResult[]; hung: string | null; last: string; stderr: string; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, category, String(SEED), dir], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    const results: CaseResult[] = [];
    let current = "(setup)", hung: string | null = null, buffered = "", stderr = "";
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => { hung = current; child.kill("SIGKILL"); }, CASE_TIMEOUT_MS * (current === "(setup)" ? 4 : 1));
    };
    arm();
    child.stdout.on("data", (d: Buffer) => {
      buffered += d;
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const m = JSON.parse(line) as { type: string; id?: string; result?: CaseResult };
        if (m.type === "start") { current = m.id!; arm(); }
        else if (m.type === "result") results.push(m.result!);
      }
    });
    child.stderr.on("data", (d: Buffer) => { stderr += d; });
    child.on("close", (code) => { clearTimeout(timer); resolve({ results, hung, last: current, stderr, code }); });
  });
}

const categories = Object.keys(CASES) as Category[];
assert.equal(categories.reduce((n, c) => n + CASES[c], 0), 490);

for (const category of categories) {
  test(`fuzz ${category}: ${CASES[category]} mutated files load correctly or fail with an Error naming the file`, { timeout: 600_000 }, async () => {
    const { dir, cleanup } = await tempDir(`fuzz-${category}`);
    try {
      const { results, hung, last, stderr, code } = await runChild(category, dir);
      assert.equal(hung, null, `case ${hung} (seed ${SEED}) did not finish within ${CASE_TIMEOUT_MS} ms`);
      assert.equal(code, 0, `the fuzz process crashed in case ${last} (seed ${SEED}): ${stderr.slice(0, 2000)}`);
      assert.equal(results.length, CASES[category]);
      const bad = results.filter((r) => r.outcome === "bad");
      assert.deepEqual(bad.map((r) => `${r.id} [${r.mutation}]: ${r.detail}`), [], `seed ${SEED}`);
      // The mutations must exercise the refusals (and, but for truncated JSON everywhere, some successes too).
      assert.ok(results.some((r) => r.outcome === "error"), "no mutation was refused");
    } finally {
      await cleanup();
    }
  });
}

// Runs every test/**/*.test.ts file with node's built-in test runner (Node 20 has no glob for --test), then
// the model, method and kernel tests again with every unzeroed buffer filled with NaN
// (FINETUNE_POISON_UNZEROED, src/tensor/pool.ts): an op that reads an output element before writing it passes
// the first run whenever the memory happened to be zero, and fails the second.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function collect(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return collect(p);
    return name.endsWith(".test.ts") ? [p] : [];
  });
}
const POISONED = ["test/models/", "test/peft/", "test/methods/", "test/train/", "test/tensor/", "test/nn/", "test/backend/",
  "test/bf16.test.ts", "test/native-backend.test.ts"];
const all = collect("test").sort();
const pick = (filter) => all.filter((f) => filter.length === 0 || filter.some((s) => f.includes(s)));
const run = (files, env = {}) =>
  spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=2", ...files],
    { stdio: "inherit", env: { ...process.env, ...env } }).status ?? 1;

const filter = process.argv.slice(2);
let status = run(pick(filter));
if (status === 0 && filter.length === 0) {
  console.log("\n# again with unzeroed buffers poisoned (NaN)");
  status = run(pick(POISONED), { FINETUNE_POISON_UNZEROED: "1" });
}
process.exit(status);

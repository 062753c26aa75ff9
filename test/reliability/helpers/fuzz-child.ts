// Child process of fuzz.test.ts: runs one category of fuzz cases and reports each one as a JSON line on stdout, so
// the test can kill it when a case hangs (a synchronous hang, e.g. a runaway regular expression, would otherwise block
// the test itself). Usage: fuzz-child.ts CATEGORY SEED DIR
import { runCategory, type Category } from "./fuzz-cases.js";

const [category, seed, dir] = process.argv.slice(2) as [Category, string, string];
// Warnings (weights newly initialized, ...) are expected for mutated files; keep the output readable.
process.removeAllListeners("warning");
const send = (m: unknown) => process.stdout.write(`${JSON.stringify(m)}\n`);
await runCategory(category, Number(seed), dir, (id) => send({ type: "start", id }), (result) => send({ type: "result", result }));
send({ type: "end" });

// Child process of adapters.test.ts: loads the DistilBERT fixture with the adapter in DIR and prints one JSON line,
// {"ok": true} or {"error": message, "isError": bool}. A separate process, so a pattern that made matching hang
// could be killed by the test instead of blocking it. Usage: load-adapter-child.ts DIR
import { join } from "node:path";
import { AutoModelForSequenceClassification } from "../../../src/models/index.js";
import { loadPeftModel } from "../../../src/peft/index.js";
import { FIXTURES } from "./common.js";

const base = await AutoModelForSequenceClassification.fromPretrained(join(FIXTURES, "distilbert"));
const started = performance.now();
try {
  await loadPeftModel(base, process.argv[2]!);
  process.stdout.write(`${JSON.stringify({ ok: true, ms: performance.now() - started })}\n`);
} catch (e) {
  process.stdout.write(`${JSON.stringify({ error: (e as Error)?.message ?? String(e), isError: e instanceof Error, ms: performance.now() - started })}\n`);
}

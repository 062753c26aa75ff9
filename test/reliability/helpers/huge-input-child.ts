// Child process of huge-inputs.test.ts: one run over a generated huge input, in its own process so the test can read
// its peak memory (process.resourceUsage().maxRSS). Prints one JSON line: {maxRssMb, result} or {maxRssMb, error}.
// Usage: huge-input-child.ts MODE ARG...
//   tokenize-cls FILE MAXLEN     classification rows from FILE (loadDataFiles), tokenized to MAXLEN with the BERT tokenizer
//   tokenize-lm FILE MAXLEN      causal-LM {text} rows from FILE (readRecords), tokenized with the GPT-2 tokenizer
//   read FILE                    every record of FILE (readRecords)
import { join } from "node:path";
import { loadDataFiles, readRecords } from "../../../src/data/index.js";
import { AutoTokenizer } from "../../../src/tokenizers/index.js";
import { tokenizeDataset } from "../../../src/train/tokenize-dataset.js";
import { DATA } from "./common.js";

const [mode, file, maxLength] = process.argv.slice(2) as [string, string, string | undefined];
const warnings: string[] = [];
const onWarning = (m: string) => warnings.push(m);
let out: Record<string, unknown>;
try {
  if (mode === "tokenize-cls") {
    const tok = await AutoTokenizer.fromPretrained(join(DATA, "tokenizers", "bert-base-uncased"));
    const { rows } = await loadDataFiles(file);
    const examples = await tokenizeDataset(tok, rows, { maxLength: Number(maxLength), onWarning });
    out = { result: examples.map((e) => e.inputIds.length), warnings };
  } else if (mode === "tokenize-lm") {
    const tok = await AutoTokenizer.fromPretrained(join(DATA, "tokenizers", "gpt2"));
    const examples = await tokenizeDataset(tok, await readRecords(file), { task: "causal-lm", maxLength: Number(maxLength), onWarning });
    out = { result: examples.map((e) => e.inputIds.length), warnings };
  } else {
    out = { result: (await readRecords(file)).length };
  }
} catch (e) {
  out = { error: (e as Error).message };
}
process.stdout.write(`${JSON.stringify({ ...out, maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`);

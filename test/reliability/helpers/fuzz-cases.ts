// The fuzz cases of fuzz.test.ts. Each case takes a real file from test/fixtures or test/data (a model's weights, a LoRA adapter's
// weights and config, a tokenizer), applies one seeded mutation, writes it to a temp folder and loads it the way a
// user would. The outcome must be either a correct load or an Error whose message names the file (or its folder,
// for loaders that read several files); never another kind of throw, a message without the file, or an allocation
// far beyond the file's size. Hangs are caught by the test, which runs these in a worker it can terminate.
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { loadSafetensors, loadSafetensorsSync } from "../../../src/io/safetensors.js";
import { AutoModelForCausalLM, AutoModelForSequenceClassification } from "../../../src/models/index.js";
import type { PreTrainedModel } from "../../../src/models/pretrained.js";
import { loadPeftModel } from "../../../src/peft/index.js";
import { AutoTokenizer } from "../../../src/tokenizers/index.js";
import { readRecords } from "../../../src/data/index.js";
import { parquetMetadata } from "hyparquet";
import { parquetHeader } from "hyparquet/src/column.js";
import { tinyParquet } from "../../data/tiny-parquet.js";
import { DATA, FIXTURES, prng } from "./common.js";

export type Category = "model" | "model-load" | "adapter-weights" | "adapter-config" | "tokenizer" | "tokenizer-regex" | "parquet";

/** How many cases of each category the test runs: 490 in all. */
export const CASES: Record<Category, number> = {
  model: 110, "model-load": 20, "adapter-weights": 50, "adapter-config": 90, tokenizer: 30, "tokenizer-regex": 40, parquet: 150,
};

export interface CaseResult {
  id: string;
  mutation: string;
  /** "ok": loaded correctly; "error": refused with a proper message; "bad": a reliability bug (see detail). */
  outcome: "ok" | "error" | "bad";
  detail: string;
}

type Rand = ReturnType<typeof prng>;

// ------------------------------------------------------------------------------------------- mutations

interface SafetensorsParts {
  headerLen: number;
  header: Record<string, unknown>;
  bytes: Buffer;
}

function parseSafetensors(bytes: Buffer): SafetensorsParts {
  const headerLen = Number(bytes.readBigUInt64LE(0));
  return { headerLen, header: JSON.parse(bytes.subarray(8, 8 + headerLen).toString("utf8")), bytes };
}

/** Re-serializes a (mutated) header in front of the original data region. */
function withHeader(p: SafetensorsParts, header: Record<string, unknown>): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const padded = Buffer.alloc(json.length + ((8 - (json.length % 8)) % 8), " ");
  json.copy(padded);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(padded.length));
  return Buffer.concat([prefix, padded, p.bytes.subarray(8 + p.headerLen)]);
}

const ODD_VALUES: unknown[] = [null, -1, 0, 1.5, 1e12, 2 ** 31, 2 ** 53, "x", "", [], {}, true, false, "(.*)*x", ["nope"], 100_000, -0.5, [1, 2]];

function mutateSafetensors(original: Buffer, r: Rand, kinds: string[]): { bytes: Buffer; mutation: string; keepsShapes: boolean } {
  const p = parseSafetensors(original);
  const kind = r.pick(kinds);
  const bytes = Buffer.from(original);
  switch (kind) {
    case "header-flip": {
      const at = 8 + r.int(p.headerLen);
      bytes[at] = bytes[at]! ^ (1 + r.int(255));
      return { bytes, mutation: `header byte ${at} flipped`, keepsShapes: false };
    }
    case "data-flip": {
      const count = 1 + r.int(8);
      for (let i = 0; i < count; i++) {
        const at = 8 + p.headerLen + r.int(bytes.length - 8 - p.headerLen);
        bytes[at] = bytes[at]! ^ (1 + r.int(255));
      }
      return { bytes, mutation: `${count} data bytes flipped`, keepsShapes: true };
    }
    case "truncate": {
      const len = r.next() < 0.3 ? r.int(8 + p.headerLen) : r.int(bytes.length);
      return { bytes: bytes.subarray(0, len), mutation: `truncated to ${len} of ${bytes.length} bytes`, keepsShapes: false };
    }
    case "length": {
      const choice = r.int(5);
      let n: bigint;
      if (choice === 0) n = (BigInt(r.int(2 ** 32)) << 32n) | BigInt(r.int(2 ** 32));
      else if (choice === 1) n = BigInt(p.headerLen + (r.int(33) - 16));
      else if (choice === 2) n = BigInt(bytes.length - 8 + r.int(3) - 1);
      else if (choice === 3) n = BigInt(r.int(p.headerLen));
      else {
        const at = r.int(8);
        bytes[at] = r.int(256);
        return { bytes, mutation: `header length byte ${at} set`, keepsShapes: false };
      }
      if (n < 0n) n = 0n;
      bytes.writeBigUInt64LE(n, 0);
      return { bytes, mutation: `header length set to ${n}`, keepsShapes: false };
    }
    default: {
      // structure: change one field of one tensor entry (or the metadata) and re-serialize consistently.
      const header = structuredClone(p.header);
      const names = Object.keys(header).filter((k) => k !== "__metadata__");
      const name = r.pick(names);
      const entry = header[name] as Record<string, unknown>;
      const shape = entry.shape as number[];
      const offsets = entry.data_offsets as number[];
      const edits: [string, () => void][] = [
        ["dtype", () => { entry.dtype = r.pick(["F16", "I64", "BF16", "U8", "C64", "f32", 7, null]); }],
        ["shape grown", () => { entry.shape = shape.length ? [shape[0]! * 2, ...shape.slice(1)] : [2]; }],
        ["shape odd", () => { entry.shape = r.pick([[-1], [2 ** 40, 2 ** 40], ["4"], [1.5], null, {}, [2 ** 31, 4]]); }],
        ["offsets shifted", () => { entry.data_offsets = [offsets[0]! + 4, offsets[1]! + 4]; }],
        ["offsets odd", () => { entry.data_offsets = r.pick([[offsets[1], offsets[0]], [0, 2 ** 53], [-8, 0], [0], "0-4", [0, 1e300]]); }],
        ["offsets overlap", () => { entry.data_offsets = [0, offsets[1]! - offsets[0]!]; }],
        ["field deleted", () => { delete entry[r.pick(["dtype", "shape", "data_offsets"])]; }],
        ["entry replaced", () => { header[name] = r.pick(ODD_VALUES); }],
        ["metadata", () => { header.__metadata__ = r.pick([{ format: 1 }, [], "pt", null, { format: "pt", x: {} }]); }],
      ];
      const [what, edit] = r.pick(edits);
      edit();
      return { bytes: withHeader(p, header), mutation: `${what} of "${name}"`, keepsShapes: false };
    }
  }
}

/** One JSON edit: delete a field, change its type or value (at the top level or a few levels down), or corrupt the text. */
function mutateJson(text: string, r: Rand, fields?: string[]): { text: string; mutation: string } {
  const kind = r.int(10);
  if (kind === 0) {
    const len = r.int(text.length);
    return { text: text.slice(0, len), mutation: `text truncated to ${len} characters` };
  }
  const doc = JSON.parse(text) as Record<string, unknown>;
  if (kind === 1) return { text: JSON.stringify(r.pick([[doc], null, 42, "config"])), mutation: "document replaced by a non-object" };
  const keys = fields?.filter((f) => f in doc) ?? Object.keys(doc);
  // Walk down from a top-level field: into objects and arrays, at most three levels.
  let parent: Record<string, unknown> | unknown[] = doc;
  let key: string | number = r.pick(keys.length ? keys : Object.keys(doc));
  const path: (string | number)[] = [key];
  for (let depth = 0; depth < 3 && r.next() < 0.6; depth++) {
    const child: unknown = (parent as Record<string | number, unknown>)[key];
    if (Array.isArray(child) && child.length) { parent = child; key = r.int(child.length); }
    else if (typeof child === "object" && child !== null && Object.keys(child).length) { parent = child as Record<string, unknown>; key = r.pick(Object.keys(child)); }
    else break;
    path.push(key);
  }
  const where = path.map((k) => JSON.stringify(k)).join(".");
  if (kind <= 4) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key as string];
    return { text: JSON.stringify(doc), mutation: `${where} deleted` };
  }
  const value = r.pick(ODD_VALUES);
  (parent as Record<string | number, unknown>)[key] = value;
  return { text: JSON.stringify(doc), mutation: `${where} set to ${JSON.stringify(value)}` };
}

/** A random pattern built from pieces that backtracking engines are known to choke on when combined. */
function randomPattern(r: Rand, depth = 0): string {
  const atoms = ["a", "b", "\\s", "\\p{L}", ".", "[ab]", "[^b]", " ", "x"];
  const quantifiers = ["", "", "*", "+", "?", "{2,5}", "{0,40}", "*?", "++"];
  const parts: string[] = [];
  for (let n = 1 + r.int(4); n > 0; n--) {
    const inner = depth < 2 && r.next() < 0.25 ? `(?:${randomPattern(r, depth + 1)})` : r.pick(atoms);
    parts.push(inner + r.pick(quantifiers));
  }
  const seq = parts.join("") + (r.next() < 0.4 ? r.pick(["$", "x", "(?!\\S)", "!"]) : "");
  return r.next() < 0.3 && depth < 2 ? `${seq}|${randomPattern(r, depth + 1)}` : seq;
}

/** Texts that make a backtracking engine try every way to split a long run, then fail at the end. */
const HARD_TEXTS = ["a", " ", "ab", "a ", "\n"].map((unit) => `${unit.repeat(Math.ceil(4000 / unit.length))}!`);

/** Where the first run of each data page's level section starts (after the 4-byte length in v1 pages): the run
 *  headers whose counts hyparquet trusts. */
function levelRunOffsets(bytes: Buffer): number[] {
  const copy = new ArrayBuffer(bytes.length);
  new Uint8Array(copy).set(bytes);
  const metadata = parquetMetadata(copy);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  // The tests' own writer makes flat columns; those that are OPTIONAL have definition levels.
  const optional = new Set(metadata.schema.filter((e) => e.repetition_type === "OPTIONAL").map((e) => e.name));
  const out: number[] = [];
  for (const group of metadata.row_groups) {
    for (const chunk of group.columns) {
      const meta = chunk.meta_data!;
      const reader = { view, offset: Number(meta.dictionary_page_offset ?? meta.data_page_offset) };
      const end = reader.offset + Number(meta.total_compressed_size);
      while (reader.offset < end) {
        const header = parquetHeader(reader);
        const v2 = header.data_page_header_v2;
        if (v2 && v2.repetition_levels_byte_length + v2.definition_levels_byte_length > 0) out.push(reader.offset);
        else if (header.data_page_header && optional.has(meta.path_in_schema.join("."))) out.push(reader.offset + 4);
        reader.offset += header.compressed_page_size;
      }
    }
  }
  return out;
}

/** A run header of `bytes` bytes claiming far more values than any page holds: RLE (even) or bit-packed (odd). */
function hugeRunHeader(r: Rand): Buffer {
  const value = r.pick([0x0ffffffe, 0x0fffffff, 0x7ffffffe, 0xffffffff, 2 ** 20, 2 ** 20 + 1, 0x3fff]);
  const out: number[] = [];
  for (let v = value; ; v = Math.floor(v / 128)) {
    if (v < 128) { out.push(v); break; }
    out.push((v % 128) | 0x80);
  }
  return Buffer.from(out);
}

/** One corruption of a Parquet file: bit flips, a truncation, a 4-byte overwrite (often in the footer, where the
 *  sizes and offsets are), the footer length set huge, or a run header inside a data page's levels set to a count
 *  far beyond the page's values. */
function mutateParquet(original: Buffer, r: Rand): { bytes: Buffer; mutation: string } {
  const bytes = Buffer.from(original);
  const footer = bytes.length - 8 - bytes.readUInt32LE(bytes.length - 8);
  const anywhere = () => r.int(bytes.length);
  const inFooter = () => footer + r.int(bytes.length - footer);
  switch (r.int(7)) {
    case 0: {
      const count = 1 + r.int(4);
      for (let i = 0; i < count; i++) {
        const at = r.next() < 0.6 ? inFooter() : anywhere();
        bytes[at] = bytes[at]! ^ (1 << r.int(8));
      }
      return { bytes, mutation: `${count} bits flipped` };
    }
    case 1: {
      const len = r.int(bytes.length);
      return { bytes: bytes.subarray(0, len), mutation: `truncated to ${len} of ${bytes.length} bytes` };
    }
    case 2:
    case 3: {
      const at = Math.min(r.next() < 0.7 ? inFooter() : anywhere(), bytes.length - 4);
      const value = r.pick([0xffffffff, 0x7fffffff, 0x80000000, 0x55f00f55, r.int(2 ** 32), 0]);
      bytes.writeUInt32LE(value >>> 0, at);
      return { bytes, mutation: `4 bytes at ${at} set to 0x${value.toString(16)}` };
    }
    case 4:
    case 5: {
      const at = r.pick(levelRunOffsets(original));
      const header = hugeRunHeader(r);
      header.copy(bytes, at);
      return { bytes, mutation: `the level run header at ${at} set to ${header.toString("hex")}` };
    }
    default: {
      const value = r.pick([0xffffffff, bytes.length, bytes.length - 7, 2 ** 30, r.int(bytes.length)]);
      bytes.writeUInt32LE(value >>> 0, bytes.length - 8);
      return { bytes, mutation: `footer length set to ${value}` };
    }
  }
}

/** The Parquet files the mutations start from: the tests' own (three columns, one with nulls, six row groups of
 *  uncompressed v1 pages) and another writer's (SNAPPY, v2 pages, dictionaries, a list column; see test/data/README.md). */
async function parquetSamples(): Promise<{ bytes: Buffer; rows: number }[]> {
  return [
    { bytes: parquetSample(), rows: 40 },
    { bytes: await readFile(join(DATA, "parquet", "hyparquet-writer-v2-snappy.parquet")), rows: 300 },
  ];
}

function parquetSample(): Buffer {
  const rows = 40;
  return tinyParquet([
    { name: "text", type: "string", values: Array.from({ length: rows }, (_, i) => `row ${i}: ${"word ".repeat(i % 7)}`) },
    { name: "label", type: "int64", values: Array.from({ length: rows }, (_, i) => i % 3) },
    { name: "score", type: "int32", values: Array.from({ length: rows }, (_, i) => (i % 5 === 0 ? null : i * 1000)) },
  ], 7);
}

// ------------------------------------------------------------------------------------------- checks

/** The outcome of one load: ok (after `check`), a proper error naming `names`, or a bug. */
async function outcome(names: string, load: () => Promise<unknown>, limitBytes: number): Promise<Pick<CaseResult, "outcome" | "detail">> {
  const before = process.memoryUsage().arrayBuffers;
  try {
    await load();
    return { outcome: "ok", detail: "" };
  } catch (err) {
    if (!(err instanceof Error)) return { outcome: "bad", detail: `threw a non-Error: ${String(err)}` };
    if (!err.message.includes(names)) return { outcome: "bad", detail: `${err.name} without the file name: ${err.message}\n${err.stack}` };
    return { outcome: "error", detail: err.message };
  } finally {
    const grown = process.memoryUsage().arrayBuffers - before;
    if (grown > limitBytes) throw new Error(`allocated ${grown} bytes, more than the ${limitBytes} allowed`);
  }
}

// ------------------------------------------------------------------------------------------- categories

interface Context {
  dir: string;
  modelBytes: Buffer;
  modelShapes: Map<string, number[]>;
  adapterWeights: Buffer;
  adapterConfigs: { method: string; text: string; weights: Buffer }[];
  tokenizerJson: string;
  tokenizerConfig: string;
  base: PreTrainedModel;
  parquet: { bytes: Buffer; rows: number }[];
}

const ADAPTER_METHODS = ["lora", "prefix-tuning", "prompt-tuning", "p-tuning"];

async function context(dir: string): Promise<Context> {
  const modelBytes = await readFile(join(FIXTURES, "gpt2", "model.safetensors"));
  const { tensors } = await loadSafetensors(join(FIXTURES, "gpt2", "model.safetensors"));
  const adapterConfigs = await Promise.all(ADAPTER_METHODS.map(async (method) => ({
    method,
    text: await readFile(join(FIXTURES, "distilbert", method, "adapter_config.json"), "utf8"),
    weights: await readFile(join(FIXTURES, "distilbert", method, "adapter_model.safetensors")),
  })));
  const tokDir = join(DATA, "tokenizers", "bert-base-uncased");
  return {
    dir,
    modelBytes,
    modelShapes: new Map([...tensors].map(([k, t]) => [k, t.shape])),
    adapterWeights: await readFile(join(FIXTURES, "distilbert", "lora", "adapter_model.safetensors")),
    adapterConfigs,
    tokenizerJson: await readFile(join(tokDir, "tokenizer.json"), "utf8"),
    tokenizerConfig: await readFile(join(tokDir, "tokenizer_config.json"), "utf8"),
    base: await AutoModelForSequenceClassification.fromPretrained(join(FIXTURES, "distilbert"), { onWarning: () => undefined }),
    parquet: await parquetSamples(),
  };
}

const MB = 1 << 20;

async function runCase(ctx: Context, category: Category, index: number, seed: number): Promise<CaseResult> {
  const r = prng(seed * 7919 + index);
  const id = `${category}#${index}`;
  const caseDir = join(ctx.dir, `${category}-${index}`);
  await mkdir(caseDir, { recursive: true });
  switch (category) {
    case "model": {
      const m = mutateSafetensors(ctx.modelBytes, r, ["header-flip", "data-flip", "truncate", "length", "structure", "structure"]);
      const file = join(caseDir, "model.safetensors");
      await writeFile(file, m.bytes);
      const sync = index % 2 === 1;
      const res = await outcome(file, async () => {
        const { tensors } = sync ? loadSafetensorsSync(file) : await loadSafetensors(file);
        let total = 0;
        for (const [name, t] of tensors) {
          const n = t.shape.reduce((a, b) => a * b, 1);
          if (t.data.length !== n) throw new Error(`BUG ${name}: ${t.data.length} values for shape [${t.shape}]`);
          total += t.data.byteLength;
          if (m.keepsShapes && JSON.stringify(ctx.modelShapes.get(name)) !== JSON.stringify(t.shape)) throw new Error(`BUG ${name}: shape changed`);
        }
        if (total > m.bytes.length) throw new Error(`BUG: ${total} bytes of tensors from a ${m.bytes.length}-byte file`);
        if (m.keepsShapes && tensors.size !== ctx.modelShapes.size) throw new Error("BUG: tensors lost");
      }, 2 * m.bytes.length + 4 * MB);
      return { id, mutation: `${m.mutation}${sync ? " (sync)" : ""}`, ...res };
    }
    case "model-load": {
      // The same mutations through from_pretrained: the folder must appear in every refusal.
      const m = mutateSafetensors(ctx.modelBytes, r, ["header-flip", "truncate", "length", "structure"]);
      await writeFile(join(caseDir, "model.safetensors"), m.bytes);
      await copyFile(join(FIXTURES, "gpt2", "config.json"), join(caseDir, "config.json"));
      const res = await outcome(caseDir, () => AutoModelForCausalLM.fromPretrained(caseDir, { onWarning: () => undefined }), 2 * m.bytes.length + 8 * MB);
      return { id, mutation: m.mutation, ...res };
    }
    case "adapter-weights": {
      const m = mutateSafetensors(ctx.adapterWeights, r, ["header-flip", "data-flip", "truncate", "length", "structure"]);
      const lora = ctx.adapterConfigs[0]!;
      await writeFile(join(caseDir, "adapter_model.safetensors"), m.bytes);
      await writeFile(join(caseDir, "adapter_config.json"), lora.text);
      const res = await outcome(join(caseDir, "adapter_model.safetensors"), async () => {
        const peft = await loadPeftModel(ctx.base.clone(), caseDir);
        const state = peft.adapterStateDict("default");
        if (state.size === 0) throw new Error("BUG: an adapter without weights loaded");
      }, 2 * m.bytes.length + 4 * MB);
      return { id, mutation: m.mutation, ...res };
    }
    case "adapter-config": {
      const src = r.pick(ctx.adapterConfigs);
      const m = mutateJson(src.text, r);
      await writeFile(join(caseDir, "adapter_config.json"), m.text);
      await writeFile(join(caseDir, "adapter_model.safetensors"), src.weights);
      // A config edit may make the weights file the one that no longer fits: either file may be named.
      const res = await outcome(caseDir, async () => {
        const peft = await loadPeftModel(ctx.base.clone(), caseDir);
        if (peft.adapterStateDict("default").size === 0) throw new Error("BUG: an adapter without weights loaded");
      }, 2 * src.weights.length + 8 * MB);
      return { id, mutation: `${src.method}: ${m.mutation}`, ...res };
    }
    case "tokenizer": {
      const onConfig = r.next() < 0.3;
      const fields = onConfig ? undefined : ["model", "added_tokens", "normalizer", "pre_tokenizer", "post_processor", "decoder", "truncation", "padding"];
      const m = mutateJson(onConfig ? ctx.tokenizerConfig : ctx.tokenizerJson, r, fields);
      await writeFile(join(caseDir, "tokenizer.json"), onConfig ? ctx.tokenizerJson : m.text);
      await writeFile(join(caseDir, "tokenizer_config.json"), onConfig ? m.text : ctx.tokenizerConfig);
      const res = await outcome(caseDir, async () => {
        const tok = await AutoTokenizer.fromPretrained(caseDir);
        const ids = await tok.encode("hello world");
        if (!ids.every((i) => Number.isInteger(i))) throw new Error("BUG: non-integer ids");
      }, 64 * MB);
      return { id, mutation: `${onConfig ? "tokenizer_config.json" : "tokenizer.json"}: ${m.mutation}`, ...res };
    }
    case "tokenizer-regex": {
      // A Split pre-tokenizer (or a Replace normalizer) with a random pattern: refused at load, or safe on hard texts.
      // A pattern the checks let through that backtracks too much aborts this process (Oniguruma's retry limit) or
      // hangs it, which the test reports.
      const pattern = randomPattern(r);
      const doc = JSON.parse(ctx.tokenizerJson) as Record<string, unknown>;
      const where = r.next() < 0.7 ? "pre_tokenizer" : "normalizer";
      doc[where] = where === "pre_tokenizer"
        ? { type: "Sequence", pretokenizers: [{ type: "Split", pattern: { Regex: pattern }, behavior: "Isolated", invert: false }, { type: "BertPreTokenizer" }] }
        : { type: "Replace", pattern: { Regex: pattern }, content: "_" };
      const file = join(caseDir, "tokenizer.json");
      await writeFile(file, JSON.stringify(doc));
      const res = await outcome(file, async () => {
        const tok = await AutoTokenizer.fromPretrained(caseDir);
        for (const text of HARD_TEXTS) await tok.encode(text, { truncation: false });
      }, 64 * MB);
      return { id, mutation: `${where}: ${pattern}`, ...res };
    }
    case "parquet": {
      const sample = ctx.parquet[index % ctx.parquet.length]!;
      const m = mutateParquet(sample.bytes, r);
      const file = join(caseDir, "data.parquet");
      await writeFile(file, m.bytes);
      const res = await outcome(file, async () => {
        const records = await readRecords(file);
        if (records.length > sample.rows) throw new Error(`BUG: ${records.length} rows from a ${sample.rows}-row file`);
      }, 16 * MB);
      return { id, mutation: `${index % ctx.parquet.length ? "v2 snappy" : "v1 plain"}: ${m.mutation}`, ...res };
    }
  }
}

/** Runs every case of `category`, announcing each before it starts (so a hang can be pinned on it). */
export async function runCategory(category: Category, seed: number, dir: string, announce: (id: string) => void, report: (r: CaseResult) => void): Promise<void> {
  const ctx = await context(dir);
  for (let i = 0; i < CASES[category]; i++) {
    announce(`${category}#${i}`);
    let result: CaseResult;
    try {
      result = await runCase(ctx, category, i, seed);
    } catch (err) {
      result = { id: `${category}#${i}`, mutation: "?", outcome: "bad", detail: `harness: ${(err as Error).message}` };
    }
    report(result);
  }
}

// The package's API changes only on purpose: every name each entry point of package.json's "exports" offers
// (values with their runtime kind, namespaces member by member, and the entry file's type-only exports) is
// compared with test/api-exports.json. A difference fails with what was added and removed; when it is meant,
// regenerate the file (UPDATE_API_SNAPSHOT=1, see SNAPSHOT_HELP) and commit it with the change.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SNAPSHOT = fileURLToPath(new URL("./api-exports.json", import.meta.url));
const SNAPSHOT_HELP = "if the change is meant, run `UPDATE_API_SNAPSHOT=1 node --import tsx --test test/api.test.ts` and commit test/api-exports.json with it";

type Kind = "class" | "function" | "namespace" | "object" | "string" | "number" | "boolean" | "type";
type Exports = Record<string, Kind>;

/** The source file behind each package.json "exports" entry: "./dist/x.js" is built from "src/x.ts". */
function entryPoints(): Record<string, string> {
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")) as { exports: Record<string, { types: string; import: string }> };
  const out: Record<string, string> = {};
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    const source = target.import.replace(/^\.\/dist\/(.*)\.js$/, "src/$1.ts");
    assert.notEqual(source, target.import, `package.json exports["${subpath}"].import should be a file under ./dist`);
    assert.equal(target.types, target.import.replace(/\.js$/, ".d.ts"), `package.json exports["${subpath}"]: its types go with its code`);
    out[subpath] = source;
  }
  return out;
}

function kindOf(value: unknown): Kind {
  if (typeof value === "function") return /^class\b/.test(Function.prototype.toString.call(value)) ? "class" : "function";
  if (typeof value === "object" && value !== null && (value as { [Symbol.toStringTag]?: string })[Symbol.toStringTag] === "Module") return "namespace";
  const t = typeof value;
  if (t === "string" || t === "number" || t === "boolean") return t;
  return "object";
}

/** Runtime exports by name; a namespace (nn, optim, io) lists its members as "nn.Linear". */
function runtimeExports(module: object, prefix = ""): Exports {
  const out: Exports = {};
  for (const [name, value] of Object.entries(module)) {
    const kind = kindOf(value);
    out[prefix + name] = kind;
    if (kind === "namespace") Object.assign(out, runtimeExports(value as object, `${prefix}${name}.`));
  }
  return out;
}

/** Names the entry file exports as types only (`export type { A }`, `export { type A }`): they vanish at run time. */
function typeExports(file: string): Exports {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest);
  const out: Exports = {};
  for (const stmt of source.statements) {
    if (!ts.isExportDeclaration(stmt) || !stmt.exportClause || !ts.isNamedExports(stmt.exportClause)) continue;
    for (const spec of stmt.exportClause.elements) if (stmt.isTypeOnly || spec.isTypeOnly) out[spec.name.text] = "type";
  }
  return out;
}

async function currentExports(): Promise<Record<string, Exports>> {
  const out: Record<string, Exports> = {};
  for (const [subpath, source] of Object.entries(entryPoints())) {
    const all = { ...typeExports(`${ROOT}${source}`), ...runtimeExports(await import(pathToFileURL(`${ROOT}${source}`).href)) };
    out[subpath] = Object.fromEntries(Object.entries(all).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
  return out;
}

/** "+ name (kind)" for what is new, "- name (kind)" for what is gone, "~ name: old -> new" for a changed kind. */
function differences(before: Record<string, Exports>, now: Record<string, Exports>): string[] {
  const lines: string[] = [];
  for (const entry of new Set([...Object.keys(before), ...Object.keys(now)])) {
    const a = before[entry] ?? {};
    const b = now[entry] ?? {};
    for (const name of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (!(name in a)) lines.push(`${entry}: + ${name} (${b[name]})`);
      else if (!(name in b)) lines.push(`${entry}: - ${name} (${a[name]})`);
      else if (a[name] !== b[name]) lines.push(`${entry}: ~ ${name}: ${a[name]} -> ${b[name]}`);
    }
  }
  return lines;
}

test("the package's entry points export exactly what test/api-exports.json records", async () => {
  const now = await currentExports();
  if (process.env.UPDATE_API_SNAPSHOT === "1") writeFileSync(SNAPSHOT, `${JSON.stringify(now, null, 2)}\n`);
  const before = JSON.parse(readFileSync(SNAPSHOT, "utf8")) as Record<string, Exports>;
  const changed = differences(before, now);
  assert.deepEqual(changed, [], `the exported API differs from test/api-exports.json:\n${changed.join("\n")}\n${SNAPSHOT_HELP}`);
});

test("the snapshot holds the user-facing API and keeps the engine's internals out of the package root", async () => {
  const { ".": root, "./internal": internal } = JSON.parse(readFileSync(SNAPSHOT, "utf8")) as Record<string, Exports>;
  for (const [name, kind] of Object.entries({
    Tensor: "class", tensor: "function", noGrad: "function", manualSeed: "function", nn: "namespace", "nn.Linear": "class",
    optim: "namespace", "optim.AdamW": "class", io: "namespace", loadSafetensors: "function", AutoModel: "object",
    AutoModelForSequenceClassification: "object", AutoTokenizer: "class", getPeftModel: "function", PeftModel: "class",
    LoraConfig: "class", Trainer: "class", SequenceClassificationModule: "class", DataLoader: "class", loadDataFiles: "function",
    FromPretrainedOptions: "type", TokenizerFromPretrainedOptions: "type", EarlyStoppingOptions: "type", MLPEarlyStoppingOptions: "type",
  } satisfies Exports)) {
    assert.equal(root?.[name], kind, `the package root should export ${name} (${kind})`);
  }
  for (const name of ["result", "releaseFloat32", "linearInto", "linearGrads", "constant", "writeFileAtomic"]) {
    assert.equal(root?.[name], undefined, `${name} is internal: finetune-ts/internal, not the package root`);
    assert.equal(internal?.[name], "function", `finetune-ts/internal should export ${name}`);
  }
});

test("a change to the API is reported name by name", () => {
  const before = { ".": { Trainer: "class", lrFind: "function" } } satisfies Record<string, Exports>;
  const now = { ".": { Trainer: "class", lrFind: "object", LrFinder: "class" } } satisfies Record<string, Exports>;
  assert.deepEqual(differences(before, now), [".: ~ lrFind: function -> object", ".: + LrFinder (class)"]);
  assert.deepEqual(differences(now, before), [".: ~ lrFind: object -> function", ".: - LrFinder (class)"]);
});

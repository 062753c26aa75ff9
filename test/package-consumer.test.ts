// The package as a user gets it: `npm pack`, `npm install` of the tarball into an empty TypeScript project, tsc
// over a program using the public API (test/package-consumer/main.ts) against the packed .d.ts files, and that
// program run. Offline: the package's dependencies are linked from this checkout's node_modules before npm
// installs the tarball (npm then finds them satisfied), and the native addon this checkout built is copied to
// where the install script would build it (install scripts are skipped: compiling the addon takes minutes, and
// test/package.test.ts checks that its sources ship).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { test } from "node:test";
import { REPO } from "./cli/tiny-models.js";
import { scratchDir } from "./helpers/temp-dir.js";

const CONSUMER = join(REPO, "test", "package-consumer");

/** The tarball is packed from dist/: a source file newer than its build would test stale code. */
function assertBuilt(dir = join(REPO, "src")): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      assertBuilt(path);
      continue;
    }
    const built = join(REPO, "dist", relative(join(REPO, "src"), path)).replace(/\.ts$/, ".js");
    assert.ok(existsSync(built) && statSync(built).mtimeMs >= statSync(path).mtimeMs, `${built} is missing or older than ${path}: run \`npm run build\` first`);
  }
}

function run(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")} failed in ${cwd}:\n${err.stdout ?? ""}${err.stderr ?? err.message}`);
  }
}

function link(name: string, project: string): void {
  const to = join(project, "node_modules", name);
  mkdirSync(dirname(to), { recursive: true });
  symlinkSync(join(REPO, "node_modules", name), to, "dir");
}

test("the packed package installs offline, and a TypeScript consumer compiles against its types and runs", { timeout: 900_000 }, async () => {
  assertBuilt();
  const dir = await scratchDir("finetune-consumer-");
  const [packed] = JSON.parse(run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], REPO)) as { filename: string }[];
  const project = join(dir, "project");
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  const { dependencies } = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { dependencies: Record<string, string> };
  for (const name of Object.keys(dependencies)) link(name, project);
  run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", "--no-save", join(dir, packed!.filename)], project);

  const installed = join(project, "node_modules", "finetune-ts");
  mkdirSync(join(installed, "build", "Release"), { recursive: true });
  copyFileSync(join(REPO, "build", "Release", "finetune_native.node"), join(installed, "build", "Release", "finetune_native.node"));
  // The consumer's own dev tools, linked after the install (npm removes what the project does not declare).
  link("typescript", project);
  link("@types/node", project);
  for (const file of ["main.ts", "tsconfig.json"]) copyFileSync(join(CONSUMER, file), join(project, file));

  run(process.execPath, [join(project, "node_modules", "typescript", "bin", "tsc"), "-p", project], project);
  const out = run(process.execPath, [join(project, "out", "main.js")], project).trim().split("\n").at(-1)!;
  const r = JSON.parse(out) as {
    backend: string; steps: number; testLoss: number; trainable: { trainable: number; all: number }; reloadedMaxDiff: number;
    logits: number; linearOut: number[];
  };
  assert.equal(r.backend, "native", "the copied addon loads from the installed package");
  assert.equal(r.steps, 4);
  assert.ok(Number.isFinite(r.testLoss), `test loss ${r.testLoss}`);
  assert.ok(r.trainable.trainable > 0 && r.trainable.trainable < r.trainable.all / 10, `LoRA trains a small part: ${JSON.stringify(r.trainable)}`);
  assert.equal(r.logits, 4 * 2, "one batch of 4 rows, 2 labels");
  assert.ok(r.reloadedMaxDiff < 1e-5, `the saved adapter reloads to the same logits (max difference ${r.reloadedMaxDiff})`);
  assert.deepEqual(r.linearOut, [1, 2]);
});

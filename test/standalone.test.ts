// The repository stands alone: a user's clone has nothing beside it, so no file the project runs may reach
// outside the clone. Two checks over every source, test, bench, script and CI file: no mention of the
// development checkout's sibling folder, and no relative path literal that climbs above the repository root
// from the file that holds it (the way `new URL("../../x", import.meta.url)` or `join(dir, "..", "..")` did).
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const inside = root.endsWith(sep) ? root : root + sep;
const self = fileURLToPath(import.meta.url);
const FOLDERS = ["src", "test", "bench", "scripts", ".ci", "native"];
const TEXT = /\.(ts|mts|mjs|js|cjs|py|sh|c|h|json|ya?ml)$|^run$/;
const SIBLING = new RegExp(["\\.\\./", "shared", "|", "shared", "/(fixtures|data|anchors|seed)"].join(""));

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "build") continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else if (TEXT.test(name)) yield path;
  }
}

const MARKER = "standalone: a value under test";

/** Relative path literals: "../x" strings, and join/resolve argument lists made of "..": the segments they climb. */
function climbs(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/["'`]((?:\.\.\/)+[^"'`]*)["'`]/g)) found.push(m[1]!);
  for (const m of source.matchAll(/(?:["']\.\.["']\s*,\s*)+/g)) found.push(m[0].match(/\.\./g)!.map(() => "..").join("/"));
  return found;
}

test("nothing under src, test, bench, scripts, .ci or native reads outside the repository", () => {
  const offences: string[] = [];
  let scanned = 0;
  for (const folder of FOLDERS) {
    for (const file of files(join(root, folder))) {
      if (file === self) continue;
      scanned++;
      const at = relative(root, file);
      readFileSync(file, "utf8").split("\n").forEach((line, i) => {
        // Hostile file names in the hub tests are values under test, marked as such on their line.
        if (line.includes(MARKER)) return;
        if (SIBLING.test(line)) offences.push(`${at}:${i + 1}: ${line.trim()}`);
        for (const rel of climbs(line)) {
          const target = resolve(dirname(file), rel);
          if (target !== inside.slice(0, -1) && !target.startsWith(inside))
            offences.push(`${at}:${i + 1}: "${rel}" resolves to ${target}, outside the repository`);
        }
      });
    }
  }
  assert.ok(scanned > 100, `scanned only ${scanned} files`);
  assert.deepEqual(offences, []);
});

test("the guard catches what it is for", () => {
  assert.ok(SIBLING.test(["const d = '../", "sha", "red/", "data'"].join("")));
  assert.deepEqual(climbs('new URL("../../../x", import.meta.url); join(a, "..", "..", "b")'), ["../../../x", "../.."]);
});

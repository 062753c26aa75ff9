// Builds the native addon at install time. A failed build is not fatal: finetune-ts falls back to its
// pure-TypeScript backend and says so once at run time (see src/backend/index.ts).
// Run by hand (`node scripts/build-native.mjs`) it goes through `npm exec`, which puts npm's bundled
// node-gyp on PATH and passes npm's config (e.g. nodedir for offline headers), and a failure exits 1.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

if (!existsSync(new URL("../binding.gyp", import.meta.url))) process.exit(0);
const gyp = process.env.npm_config_node_gyp;
const [cmd, args] = gyp ? [process.execPath, [gyp, "rebuild"]] : ["npm", ["exec", "-c", "node-gyp rebuild"]];
const r = spawnSync(cmd, args, {
  stdio: "inherit",
  cwd: new URL("..", import.meta.url),
  shell: !gyp && process.platform === "win32", // npm is npm.cmd there
});
if (r.status !== 0) {
  if (r.error) console.warn(`finetune-ts: could not run ${cmd}: ${r.error.message}`);
  console.warn("finetune-ts: the native addon did not build; the TypeScript backend will be used (slow). " +
    "Install a C compiler and python3, then run `npm rebuild finetune-ts`.");
  if (process.env.npm_lifecycle_event !== "install") process.exit(1);
}

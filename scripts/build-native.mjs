// Builds the native addon at install time. A failed build is not fatal: finetune-ts falls back to its
// pure-TypeScript backend and says so once at run time (see src/backend/index.ts).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

if (!existsSync(new URL("../binding.gyp", import.meta.url))) process.exit(0);
const gyp = process.env.npm_config_node_gyp;
const [cmd, args] = gyp ? [process.execPath, [gyp, "rebuild"]] : ["node-gyp", ["rebuild"]];
const r = spawnSync(cmd, args, { stdio: "inherit", cwd: new URL("..", import.meta.url) });
if (r.status !== 0) {
  console.warn("finetune-ts: the native addon did not build; the TypeScript backend will be used (slow). " +
    "Install a C compiler and python3, then run `npm rebuild finetune-ts`.");
}

// docs/cli.md reproduces each command's --help, so the page cannot drift from the code.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { commands } from "../../src/cli/main.js";
import { REPO } from "./tiny-models.js";

test("docs/cli.md holds the current --help of every command it documents", async () => {
  const doc = await readFile(join(REPO, "docs/cli.md"), "utf8");
  for (const name of ["train", "eval", "predict", "generate", "merge", "compare", "pretrain", "doctor"]) {
    const c = commands.find((x) => x.name === name)!;
    assert.ok(doc.includes(`### finetune ${name}\n`), `section for ${name}`);
    assert.ok(doc.includes(`\`\`\`text\n${c.help}\n\`\`\``), `docs/cli.md has an outdated help text of finetune ${name}`);
  }
});

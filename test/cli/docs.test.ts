// docs/cli.md reproduces each command's --help, so the page cannot drift from the code.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { commands } from "../../src/cli/main.js";
import { families } from "../../src/models/index.js";
import { REPO } from "./tiny-models.js";

test("docs/cli.md holds the current --help of every command", async () => {
  const doc = await readFile(join(REPO, "docs/cli.md"), "utf8");
  for (const c of commands) {
    assert.ok(doc.includes(`### finetune ${c.name}\n`), `docs/cli.md's Command reference has no section for finetune ${c.name}`);
    assert.ok(doc.includes(`\`\`\`text\n${c.help}\n\`\`\``), `docs/cli.md has an outdated help text of finetune ${c.name}`);
  }
});

test("docs/cli.md lists every registered model type with its family's defaults, and the README names them", async () => {
  const [doc, readme] = await Promise.all(["docs/cli.md", "README.md"].map((f) => readFile(join(REPO, f), "utf8")));
  const code = (names: string[]) => names.map((n) => `\`${n}\``).join(", ");
  for (const family of families()) {
    const { seqCls, causalLm, maskedLm } = family.classes;
    const tasks = [seqCls && "seq-cls", causalLm && "causal-lm"].filter(Boolean).join(", ");
    const top = family.layout.top.length ? ` + ${code(family.layout.top)}` : "";
    for (const modelType of family.modelTypes) {
      const t = family.peftTargets[modelType];
      const row = `| \`${modelType}\` | ${family.name} | ${tasks} | ${maskedLm ? "masked LM" : "next token"} | ${code(t.lora)} | ` +
        `${code(t.ia3)} (${code(t.ia3Feedforward)}) | ${code([t.adapter.attention, t.adapter.ffn])} | ${code([family.layout.blocks])}${top} |`;
      assert.ok(doc.includes(`${row}\n`), `docs/cli.md's Models table lacks or has an outdated row for ${modelType}:\n${row}`);
      assert.ok(readme.includes(`\`${modelType}\``), `README.md does not name ${modelType}`);
    }
  }
});

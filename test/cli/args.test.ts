// The flag table: command-line spellings, config-file keys, and the errors users see.
import { test } from "node:test";
import assert from "node:assert/strict";
import { booleanFlag, flagHelp, flagsFromObject, listFlag, numberFlag, parseFlags, stringFlag } from "../../src/cli/args.js";
import { UsageError } from "../../src/cli/command.js";

const table = {
  model: stringFlag("model", { arg: "ID" }),
  maxSteps: numberFlag("steps", { integer: true, min: 1 }),
  lr: numberFlag("learning rate", { min: 0 }),
  prefixProjection: booleanFlag("projection"),
  targetModules: listFlag("targets"),
  pooling: stringFlag("pooling", { choices: ["cls", "mean"] }),
};

test("--name value, --name=value, bare switches, repeated lists and positionals", () => {
  const { values, positionals } = parseFlags(
    ["--model", "m", "--max-steps=20", "--prefix-projection", "--target-modules", "q_lin,v_lin", "--target-modules", "k_lin", "--lr", "1e-4", "text one", "--", "--not-a-flag"],
    table, { positionals: true });
  assert.deepEqual(values, { model: "m", maxSteps: 20, prefixProjection: true, targetModules: ["q_lin", "v_lin", "k_lin"], lr: 1e-4 });
  assert.deepEqual(positionals, ["text one", "--not-a-flag"]);
  assert.deepEqual(parseFlags(["--prefix-projection=false"], table).values, { prefixProjection: false });
});

test("config keys in camelCase, kebab-case or snake_case, with YAML's own types", () => {
  const values = flagsFromObject({ maxSteps: 5, "target-modules": ["q", "v"], prefix_projection: true, lr: "3e-4", pooling: null }, table, "run.yaml");
  assert.deepEqual(values, { maxSteps: 5, targetModules: ["q", "v"], prefixProjection: true, lr: 3e-4 });
});

test("errors name the flag or key, the bad value and what was expected", () => {
  const message = (f: () => unknown) => {
    try { f(); } catch (e) { assert.ok(e instanceof UsageError); return e.message; }
    assert.fail("expected a UsageError");
  };
  assert.equal(message(() => parseFlags(["--max-step", "3"], table)), "unknown option --max-step (did you mean --max-steps?)");
  assert.equal(message(() => parseFlags(["--max-steps", "2.5"], table)), '--max-steps must be an integer >= 1, got "2.5"');
  assert.equal(message(() => parseFlags(["--pooling", "max"], table)), '--pooling must be one of cls, mean, got "max"');
  assert.equal(message(() => parseFlags(["--model"], table)), "--model needs a value");
  assert.equal(message(() => parseFlags(["stray"], table)), 'unexpected argument "stray"');
  assert.equal(message(() => parseFlags(["-x"], table)), "unknown option -x");
  assert.equal(message(() => flagsFromObject({ epochz: 1 }, table, "run.yaml")), 'run.yaml: unknown key "epochz"');
  assert.equal(message(() => flagsFromObject({ prefixProjection: "yes" }, table, "run.yaml")), 'run.yaml: key "prefixProjection" is a switch (true or false), got "yes"');
});

test("help lists every flag with its value name", () => {
  const help = flagHelp(table);
  for (const f of ["--model ID", "--max-steps N", "--prefix-projection ", "--target-modules A,B,...", "--pooling VALUE"]) assert.ok(help.includes(f), f);
});

// The benches' peak cache must not hand one host's peak to another: a virtual machine may name its CPU only "AMD
// EPYC" on hosts whose peaks differ twofold, so the key carries the family and model numbers where Linux has them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { backend } from "../../src/backend/index.js";
import { cachedMachinePeak, cpuName, type MachinePeak } from "../../src/backend/peak.js";

const native = backend().name === "native";
const sentinel = (cpu: string): MachinePeak => ({ cpu, threads: backend().threads(), fp32: { gflops: 1234, isa: "test" }, bf16: null, bf16Kernel: "test" });

test("cpuName adds /proc/cpuinfo's family and model to the model name on Linux", { skip: process.platform !== "linux" }, () => {
  const info = readFileSync("/proc/cpuinfo", "utf8");
  const family = /^cpu family\s*:\s*(\S+)/m.exec(info)?.[1], model = /^model\s*:\s*(\S+)/m.exec(info)?.[1];
  const name = cpus()[0].model;
  assert.equal(cpuName(), family && model ? `${name} (family ${family}, model ${model})` : name);
});

test("the cached peak is read only under this CPU's full name", { skip: !native && "needs the native backend" }, async () => {
  const file = join(mkdtempSync(join(tmpdir(), "peak-")), "peak.json");
  const key = `${cpuName()} / ${backend().threads()} threads`;
  writeFileSync(file, JSON.stringify({ [key]: sentinel(cpuName()) }));
  assert.equal((await cachedMachinePeak(file))?.fp32.gflops, 1234);
  if (cpuName() === cpus()[0].model) return; // no family and model here: the bare name is the full name
  const bare = `${cpus()[0].model} / ${backend().threads()} threads`;
  writeFileSync(file, JSON.stringify({ [bare]: sentinel(cpus()[0].model) }));
  const measured = await cachedMachinePeak(file);
  assert.notEqual(measured?.fp32.gflops, 1234, "a peak stored under the bare model name was taken for this CPU's");
  assert.ok(JSON.parse(readFileSync(file, "utf8"))[key], "the measured peak is stored under the full name");
});

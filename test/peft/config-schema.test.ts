// PEFT configs on the declarative schema: adapter_config.json and configs built in code are checked field by field,
// errors naming the file (or class) and the field; the registry holds one entry per peft_type.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AdapterConfig, LoraConfig, loraTuner, peftConfigFromJson, peftMethod, registerPeftMethod } from "../../src/peft/index.js";

const FILE = "x/adapter_config.json";

test("adapter_config.json values are checked against the config's schema, naming the file and the field", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ r: -1 }, 'config field "r" must be at least 1, got -1'],
    [{ r: 1e9 }, 'config field "r" must be at most 65536, got 1000000000 (an absurd size; is the file corrupt?)'],
    [{ target_modules: 7 }, 'config field "target_modules" must be a list of strings or a string, got 7'],
    [{ target_modules: "(a" }, 'config field "target_modules" is not usable: "(a" is not a valid regular expression'],
    [{ layers_to_transform: [0, "x"] }, 'config field "layers_to_transform" item 1 must be a number, got "x"'],
    [{ rank_pattern: { q_lin: 0 } }, 'config field "rank_pattern" entry "q_lin" must be at least 1, got 0'],
    [{ alpha_pattern: { q_lin: 0 } }, 'config field "alpha_pattern" entry "q_lin" must be above 0, got 0'],
    [{ init_lora_weights: "pissa" }, 'config field "init_lora_weights" is "pissa", which is not supported (supported: gaussian)'],
    [{ use_dora: true }, 'config field "use_dora" is true, but DoRA is not supported yet'],
    [{ task_type: "TRANSLATION" }, 'config field "task_type" is "TRANSLATION", which is not supported'],
    [{ modules_to_save: [1] }, 'config field "modules_to_save" item 0 must be a string, got 1'],
  ];
  for (const [edit, message] of cases) {
    assert.throws(() => peftConfigFromJson({ peft_type: "LORA", ...edit }, FILE), (e: Error) => e.message.startsWith(`${FILE}: ${message}`), message);
  }
  assert.throws(() => peftConfigFromJson({ peft_type: "BOTTLENECK_ADAPTER", reduction_factor: 0 }, FILE),
    /x\/adapter_config\.json: config field "reduction_factor" must be above 0, got 0/);
});

test("configs built in code: unknown options, the class in errors, fresh defaults, and the file round trip", () => {
  assert.throws(() => new LoraConfig({ rank: 4 } as never), /LoraConfig: unknown config field "rank"/);
  assert.throws(() => new AdapterConfig({ initScale: 0 }), /AdapterConfig: config field "init_scale" must be above 0, got 0/);
  const [a, b] = [new LoraConfig(), new LoraConfig()];
  a.rankPattern.q_lin = 4;
  assert.deepEqual(b.rankPattern, {}, "a default object is not shared between configs");
  const config = new LoraConfig({ r: 4, targetModules: ["q_lin"], rankPattern: { v_lin: 2 }, layersToTransform: 1 });
  assert.equal(config.peftType, "LORA");
  const json = config.toJSON();
  assert.deepEqual(Object.keys(json), Object.keys(json).sort());
  assert.equal(json.peft_type, "LORA");
  assert.deepEqual(peftConfigFromJson(JSON.parse(JSON.stringify(json))).toJSON(), json);
});

test("a peft_type, a config class and a method name are registered once", () => {
  assert.equal(peftMethod("LORA")?.config, LoraConfig);
  assert.throws(() => registerPeftMethod({ peftType: "LORA", config: LoraConfig, tuner: loraTuner, mergeable: true }), /peft_type LORA is already registered/);
  assert.throws(() => registerPeftMethod({ peftType: "LORA2", config: LoraConfig, tuner: loraTuner, mergeable: true }), /LoraConfig is already the config of LORA/);
  class OtherConfig extends LoraConfig {}
  const cli = { name: "lora", label: "other", baseLr: 1e-3, widthScaled: true, flags: {} };
  assert.throws(() => registerPeftMethod({ peftType: "OTHER", config: OtherConfig, tuner: loraTuner, mergeable: true, cli }), /the method name "lora" is taken/);
  assert.equal(peftMethod("OTHER"), undefined);
});

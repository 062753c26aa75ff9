import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { AutoTokenizer } from "../../src/tokenizers/index.js";

const tokenizersDir = fileURLToPath(new URL("../data/tokenizers/", import.meta.url));
const scratch = await mkdtemp(join(tmpdir(), "tokenizer-save-"));
after(() => rm(scratch, { recursive: true, force: true }));

const texts = ["Hello world", "A second, longer sentence with punctuation!", "<|endoftext|> and [SEP] markers"];

for (const name of ["bert-base-uncased", "gpt2", "phi-3-mini"]) {
  test(`${name}: savePretrained -> fromPretrained gives the same tokenizer`, async () => {
    const original = await AutoTokenizer.fromPretrained(join(tokenizersDir, name));
    if (original.padToken === undefined) original.padToken = original.eosToken;
    const dir = join(scratch, name);
    const files = await original.savePretrained(dir);
    assert.deepEqual(files.map((f) => f.slice(dir.length + 1)), ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]);

    const saved = JSON.parse(await readFile(files[0]!, "utf8"));
    assert.ok(typeof saved.model.type === "string", "the saved model has an explicit type");
    const reloaded = await AutoTokenizer.fromPretrained(dir);
    const opts = { textPair: texts.map((t) => t.toUpperCase()), padding: true, returnTokenTypeIds: true } as const;
    assert.deepEqual(await reloaded.call(texts, opts), await original.call(texts, opts));
    assert.equal(reloaded.length, original.length);
    assert.equal(reloaded.modelMaxLength, original.modelMaxLength);
    assert.equal(reloaded.paddingSide, original.paddingSide);
    assert.deepEqual(reloaded.allSpecialTokens, original.allSpecialTokens);
    assert.equal(reloaded.padTokenId, original.padTokenId);
  });
}

test("special_tokens_map.json and tokenizer_config.json contents", async () => {
  const gpt2 = await AutoTokenizer.fromPretrained(join(tokenizersDir, "gpt2"));
  gpt2.padToken = gpt2.eosToken;
  const dir = join(scratch, "gpt2-files");
  await gpt2.savePretrained(dir);
  const map = JSON.parse(await readFile(join(dir, "special_tokens_map.json"), "utf8"));
  assert.deepEqual(map, { bos_token: "<|endoftext|>", eos_token: "<|endoftext|>", unk_token: "<|endoftext|>", pad_token: "<|endoftext|>" });
  const config = JSON.parse(await readFile(join(dir, "tokenizer_config.json"), "utf8"));
  assert.equal(config.model_max_length, 1024);
  assert.equal(config.pad_token, "<|endoftext|>");

  const phi3 = await AutoTokenizer.fromPretrained(join(tokenizersDir, "phi-3-mini"));
  await phi3.savePretrained(join(scratch, "phi3-files"));
  const phiConfig = JSON.parse(await readFile(join(scratch, "phi3-files", "tokenizer_config.json"), "utf8"));
  assert.equal(phiConfig.add_bos_token, false);
  assert.match(phiConfig.chat_template, /<\|assistant\|>/, "unrelated config keys survive");
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { PyTuple, unpickle } from "../../src/io/pickle.js";

// Written by CPython's pickle.dumps at authoring time, protocols 2 and 4, of:
// {"ints": [0, 255, 65535, -1, 2**31 - 1, -2**31, 2**40, -(2**63)], "float": 2.5, "none": None, "bools": (True, False),
//  "str": "é€", "tuples": ((), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)), "nested": {"k": [[]]}, "big": 2**70}
const PROTO2 =
  "80027d7100285804000000696e747371015d7102284b004bff4dffff4affffffff4affffff7f4a000000808a060000000000018a080000000000000080655805000000666c6f6174710347400400000000000058040000006e6f6e6571044e5805000000626f6f6c7371058889867106580300000073747271075805000000c3a9e282ac710858060000007475706c6573710928294b0185710a4b014b0286710b4b014b024b0387710c284b014b024b034b0474710d74710e58060000006e6573746564710f7d711058010000006b71115d71125d71136173580300000062696771148a09000000000000000040752e";
const PROTO4 =
  "800495bb000000000000007d94288c04696e7473945d94284b004bff4dffff4affffffff4affffff7f4a000000808a060000000000018a080000000000000080658c05666c6f6174944740040000000000008c046e6f6e65944e8c05626f6f6c7394888986948c03737472948c05c3a9e282ac948c067475706c65739428294b0185944b014b0286944b014b024b038794284b014b024b034b04749474948c066e6573746564947d948c016b945d945d9461738c03626967948a09000000000000000040752e";

const noGlobals = { file: "test.pkl", findGlobal: () => undefined, persistentLoad: () => assert.fail("no persistent ids here") };
const t = (...items: unknown[]) => new PyTuple(items);

for (const [name, hex] of [["protocol 2", PROTO2], ["protocol 4", PROTO4]] as const) {
  test(`plain data from CPython pickle, ${name}`, () => {
    const obj = unpickle(Buffer.from(hex, "hex"), noGlobals);
    assert.deepEqual(
      obj,
      new Map<string, unknown>([
        ["ints", [0, 255, 65535, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 40, -(2n ** 63n)]],
        ["float", 2.5],
        ["none", null],
        ["bools", t(true, false)],
        ["str", "é€"],
        ["tuples", t(t(), t(1), t(1, 2), t(1, 2, 3), t(1, 2, 3, 4))],
        ["nested", new Map([["k", [[]]]])],
        ["big", 2n ** 70n],
      ]),
    );
  });
}

test("malformed pickles fail with the file name, never with a crash", () => {
  const bad: [string, RegExp][] = [
    ["8002", /truncated/],
    ["80027d", /STOP|truncated/],
    ["8002652e", /no MARK/],
    ["800268052e", /memo key 5 is missing/],
    ["8002ff", /unsupported opcode 0xff/],
    ["80024b014b0273", /stack underflow/],
    ["80024b014b024b0373", /SETITEM\(S\) target is not a dict/],
    ["800258ffffff7f", /truncated/],
  ];
  for (const [hex, re] of bad) {
    assert.throws(() => unpickle(Buffer.from(hex, "hex"), noGlobals), (err: Error) => err.message.startsWith("test.pkl: pickle: ") && re.test(err.message), hex);
  }
});

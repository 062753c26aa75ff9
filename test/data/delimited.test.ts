import assert from "node:assert/strict";
import { test } from "node:test";
import { DelimitedParser, type DelimitedRecord } from "../../src/data/delimited.js";

function parse(text: string, opts: { delimiter?: string; quote?: string | null; chunk?: number } = {}): DelimitedRecord[] {
  const parser = new DelimitedParser(opts.delimiter ?? ",", opts.quote === undefined ? '"' : opts.quote);
  const out: DelimitedRecord[] = [];
  const size = opts.chunk ?? text.length;
  for (let i = 0; i < text.length; i += size) out.push(...parser.push(text.slice(i, i + size)));
  if (parser.openQuoteLine !== undefined) throw new Error(`open quote at line ${parser.openQuoteLine}`);
  return [...out, ...parser.end()];
}

const sample =
  'text,label\r\n' +
  '"Hello, world",1\r\n' +
  '"She said ""hi""\nand left",0\n' +
  '\n' +
  'plain "quote" inside,1\n' +
  '"",\n' +
  'last,0';

test("RFC 4180: quoted delimiters, doubled quotes, embedded newlines, CRLF", () => {
  const expected: DelimitedRecord[] = [
    { line: 1, fields: ["text", "label"] },
    { line: 2, fields: ["Hello, world", "1"] },
    { line: 3, fields: ['She said "hi"\nand left', "0"] },
    { line: 6, fields: ['plain "quote" inside', "1"] },
    { line: 7, fields: ["", ""] },
    { line: 8, fields: ["last", "0"] },
  ];
  assert.deepEqual(parse(sample), expected);
  for (const chunk of [1, 2, 3, 7]) assert.deepEqual(parse(sample, { chunk }), expected, `chunks of ${chunk}`);
});

test("a lone carriage return is text, a trailing one ends the record", () => {
  assert.deepEqual(parse("a\rb,c\r"), [{ line: 1, fields: ["a\rb", "c"] }]);
});

test("tabs, and quoting turned off", () => {
  assert.deepEqual(parse('" quoted start\t1\n', { delimiter: "\t", quote: null }), [{ line: 1, fields: ['" quoted start', "1"] }]);
  assert.deepEqual(parse('"a\tb"\t1', { delimiter: "\t" }), [{ line: 1, fields: ["a\tb", "1"] }]);
});

test("text after a closing quote makes that record invalid, not the next", () => {
  assert.deepEqual(parse('"a"b,1\nok,2\n'), [
    { line: 1, error: 'unexpected "b" after the closing quote of field 1' },
    { line: 2, fields: ["ok", "2"] },
  ]);
});

test("an unterminated quote is reported at the line its record starts", () => {
  assert.throws(() => parse('a,1\n"never closed,2\nmore\n'), /open quote at line 2/);
});

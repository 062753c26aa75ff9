// A minimal parquet writer for tests (hyparquet only reads, and hyparquet-writer is not a dependency):
// PLAIN-encoded, uncompressed v1 data pages, one page per column chunk, metadata in Thrift compact form.
// Columns holding a null are written OPTIONAL, with RLE definition levels.

export interface ParquetColumn {
  name: string;
  type: "string" | "int64" | "int32";
  values: (string | number | null)[];
}

class Thrift {
  bytes: number[] = [];
  private lastField: number[] = [0];

  varint(n: bigint | number): this {
    let v = BigInt(n);
    while (v >= 0x80n) {
      this.bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.bytes.push(Number(v));
    return this;
  }
  zigzag(n: number | bigint): this {
    const v = BigInt(n);
    return this.varint(v >= 0n ? v << 1n : (-v << 1n) - 1n);
  }
  field(id: number, type: number): this {
    const delta = id - this.lastField[this.lastField.length - 1]!;
    this.bytes.push((delta << 4) | type);
    this.lastField[this.lastField.length - 1] = id;
    return this;
  }
  i32(id: number, v: number): this {
    return this.field(id, 5).zigzag(v);
  }
  i64(id: number, v: number | bigint): this {
    return this.field(id, 6).zigzag(v);
  }
  binary(id: number, s: string): this {
    const b = Buffer.from(s, "utf8");
    this.field(id, 8).varint(b.length);
    this.bytes.push(...b);
    return this;
  }
  beginStruct(id: number): this {
    this.field(id, 12);
    this.lastField.push(0);
    return this;
  }
  endStruct(): this {
    this.bytes.push(0);
    this.lastField.pop();
    return this;
  }
  list(id: number, elemType: number, items: ((t: this) => void)[]): this {
    this.field(id, 9);
    this.bytes.push(items.length < 15 ? (items.length << 4) | elemType : 0xf0 | elemType);
    if (items.length >= 15) this.varint(items.length);
    for (const write of items) write(this);
    return this;
  }
  structItem(write: (t: this) => void): (t: this) => void {
    return (t) => {
      t.lastField.push(0);
      write(t);
      t.endStruct();
    };
  }
}

const PHYSICAL = { string: 6, int64: 2, int32: 1 } as const;

function plainValues(col: ParquetColumn, values: (string | number)[]): Buffer {
  return Buffer.concat(
    values.map((v) => {
      if (col.type === "string") {
        const b = Buffer.from(String(v), "utf8");
        const len = Buffer.alloc(4);
        len.writeUInt32LE(b.length);
        return Buffer.concat([len, b]);
      }
      const b = Buffer.alloc(col.type === "int64" ? 8 : 4);
      if (col.type === "int64") b.writeBigInt64LE(BigInt(v));
      else b.writeInt32LE(Number(v));
      return b;
    }),
  );
}

/** Definition levels (bit width 1) as one RLE run per value, with the 4-byte length prefix. */
function definitionLevels(values: unknown[]): Buffer {
  const runs = new Thrift();
  for (const v of values) runs.varint(1 << 1).bytes.push(v === null ? 0 : 1);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(runs.bytes.length);
  return Buffer.concat([len, Buffer.from(runs.bytes)]);
}

export function tinyParquet(columns: ParquetColumn[], rowGroupSize = Infinity): Buffer {
  const numRows = columns[0]!.values.length;
  const optional = columns.map((c) => c.values.includes(null));
  const parts: Buffer[] = [Buffer.from("PAR1")];
  let offset = 4;
  const rowGroups: ((t: Thrift) => void)[] = [];
  for (let start = 0; start < numRows; start += Math.min(rowGroupSize, numRows)) {
    const end = Math.min(numRows, start + rowGroupSize);
    const chunks: ((t: Thrift) => void)[] = [];
    let groupBytes = 0;
    columns.forEach((col, c) => {
      const values = col.values.slice(start, end);
      const data = Buffer.concat([
        optional[c] ? definitionLevels(values) : Buffer.alloc(0),
        plainValues(col, values.filter((v) => v !== null)),
      ]);
      const header = new Thrift()
        .i32(1, 0)
        .i32(2, data.length)
        .i32(3, data.length)
        .beginStruct(5)
        .i32(1, values.length)
        .i32(2, 0)
        .i32(3, 3)
        .i32(4, 3)
        .endStruct();
      header.bytes.push(0);
      const page = Buffer.concat([Buffer.from(header.bytes), data]);
      const pageOffset = offset;
      parts.push(page);
      offset += page.length;
      groupBytes += page.length;
      chunks.push(
        new Thrift().structItem((t) =>
          t
            .i64(2, pageOffset)
            .beginStruct(3)
            .i32(1, PHYSICAL[col.type])
            .list(2, 5, [(x) => x.zigzag(0), (x) => x.zigzag(3)])
            .list(3, 8, [(x) => x.varint(Buffer.byteLength(col.name)).bytes.push(...Buffer.from(col.name))])
            .i32(4, 0)
            .i64(5, values.length)
            .i64(6, page.length)
            .i64(7, page.length)
            .i64(9, pageOffset)
            .endStruct(),
        ),
      );
    });
    rowGroups.push(new Thrift().structItem((t) => t.list(1, 12, chunks).i64(2, groupBytes).i64(3, end - start)));
  }
  const schema = [
    new Thrift().structItem((t) => t.binary(4, "schema").i32(5, columns.length)),
    ...columns.map((col, c) =>
      new Thrift().structItem((t) => {
        t.i32(1, PHYSICAL[col.type]).i32(3, optional[c] ? 1 : 0).binary(4, col.name);
        if (col.type === "string") t.i32(6, 0);
      }),
    ),
  ];
  const meta = new Thrift().i32(1, 1).list(2, 12, schema).i64(3, numRows).list(4, 12, rowGroups);
  meta.bytes.push(0);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(meta.bytes.length);
  parts.push(Buffer.from(meta.bytes), len, Buffer.from("PAR1"));
  return Buffer.concat(parts);
}

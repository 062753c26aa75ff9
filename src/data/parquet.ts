// Parquet through hyparquet, one row group at a time so a large file is never decoded whole.
// hyparquet reads uncompressed and snappy files (what HF's datasets writes); other codecs need the
// separate hyparquet-compressors package.
//
// A Parquet file is untrusted: hyparquet sizes its arrays by the counts the file claims and loops until they are
// filled, so a corrupt count is a huge allocation or a near-endless loop. Before hyparquet decodes a row group, every
// count and size it will use is checked against the file: the footer against the file size, row counts against each
// other and against the file size, each column chunk's byte range, and each page header (sizes within the chunk, value
// counts within the chunk's), and inside each data page every run of the RLE / bit-packed hybrid encoding
// (levels, dictionary indices, booleans): hyparquet repeats a run's value as often as its header says, growing its
// array past the page's size, so a run may not hold more values than the page, nor more bytes than are left in it.
// Every failure, ours or hyparquet's, becomes `<file>: not a valid Parquet file (<reason>)`.
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema, type CompressionCodec, type FileMetaData } from "hyparquet";
import { parquetHeader } from "hyparquet/src/column.js";
import { decompressPage } from "hyparquet/src/datapage.js";
import { getMaxDefinitionLevel, getMaxRepetitionLevel, getSchemaPath } from "hyparquet/src/schema.js";

/** The footer (Thrift metadata) of a real file is kilobytes to a few megabytes. */
const MAX_METADATA_BYTES = 64 << 20;
/** A page is decoded in one piece: larger ones are refused rather than allocated. */
const MAX_PAGE_BYTES = 512 << 20;
/** Rows a file may claim per byte it holds (plus a constant): real rows take bytes; a billion-row claim is a corruption,
 *  and every row claimed is work and memory before anything else is checked. */
const ROWS_PER_BYTE = 8;
const EXTRA_ROWS = 1000;

type AsyncBuffer = Awaited<ReturnType<typeof asyncBufferFromFile>>;

export async function* readParquet(
  file: string,
): AsyncGenerator<{ columns: string[]; rows: Record<string, unknown>[]; firstRow: number }> {
  const fail = (e: unknown): never => {
    throw new Error(`${file}: not a valid Parquet file (${e instanceof Error ? e.message : String(e)})`);
  };
  let buffer: AsyncBuffer, metadata: FileMetaData, columns: string[];
  try {
    buffer = await asyncBufferFromFile(file);
    const footerStart = await checkFooter(buffer);
    metadata = await parquetMetadataAsync(buffer);
    columns = parquetSchema(metadata).children.map((c) => c.element.name);
    checkMetadata(metadata, buffer.byteLength, footerStart);
  } catch (e) {
    return fail(e);
  }
  let start = 0;
  for (const [g, group] of metadata.row_groups.entries()) {
    const end = start + Number(group.num_rows);
    let rows: Record<string, unknown>[];
    try {
      await checkPages(buffer, metadata, group, `row group ${g}`);
      rows = await parquetReadObjects({ file: buffer, metadata, rowStart: start, rowEnd: end });
      if (rows.length !== end - start) throw new Error(`row group ${g} claims ${end - start} rows but holds ${rows.length}`);
    } catch (e) {
      return fail(e);
    }
    yield { columns, rows: rows.map(plainValues), firstRow: start };
    start = end;
  }
}

/** The "PAR1" magic at both ends and a metadata length that fits; returns where the metadata starts. */
async function checkFooter(buffer: AsyncBuffer): Promise<number> {
  const size = buffer.byteLength;
  if (size < 12) throw new Error(`${size} bytes, too short for a Parquet file`);
  const [head, tail] = await Promise.all([buffer.slice(0, 4), buffer.slice(size - 8, size)]);
  const magic = (b: ArrayBuffer, at: number) => Buffer.from(b, at, 4).toString("latin1") === "PAR1";
  if (!magic(head, 0) || !magic(tail, 4)) throw new Error('no "PAR1" magic at the start and end');
  const length = new DataView(tail).getUint32(0, true);
  if (length > size - 12 || length > MAX_METADATA_BYTES) throw new Error(`metadata length ${length} does not fit in the ${size}-byte file`);
  return size - 8 - length;
}

const count = (v: unknown, what: string): number => {
  const n = typeof v === "bigint" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) throw new Error(`${what} is ${String(v)}, not a count`);
  return n;
};

/** Row counts against each other and the file size; each column chunk's bytes within the data region. */
function checkMetadata(metadata: FileMetaData, size: number, footerStart: number): void {
  const maxRows = EXTRA_ROWS + ROWS_PER_BYTE * size;
  const total = count(metadata.num_rows, "num_rows");
  if (total > maxRows) throw new Error(`num_rows ${total} is more than a ${size}-byte file can hold`);
  const leaves = parquetSchema(metadata).children.flatMap(function leaf(c): typeof c[] {
    return c.children.length ? c.children.flatMap(leaf) : [c];
  });
  let sum = 0;
  metadata.row_groups.forEach((group, g) => {
    const rows = count(group.num_rows, `row group ${g} num_rows`);
    sum += rows;
    if (group.columns.length !== leaves.length) throw new Error(`row group ${g} has ${group.columns.length} column chunks for ${leaves.length} columns`);
    group.columns.forEach((chunk, c) => {
      const meta = chunk.meta_data;
      const where = `row group ${g}, column ${c}`;
      if (!meta) throw new Error(`${where}: no column metadata`);
      const start = count(meta.dictionary_page_offset || meta.data_page_offset, `${where} page offset`);
      const bytes = count(meta.total_compressed_size, `${where} total_compressed_size`);
      if (start < 4 || start + bytes > footerStart) throw new Error(`${where}: bytes ${start}..${start + bytes} are outside the data region 4..${footerStart}`);
      const values = count(meta.num_values, `${where} num_values`);
      // A flat column has one value (or null) per row; nested ones may have more, within the file's row bound.
      const flat = leaves[c]!.path.length === 1 && leaves[c]!.element.repetition_type !== "REPEATED";
      if (flat ? values !== rows : values > maxRows) throw new Error(`${where}: num_values ${values} for ${rows} rows`);
    });
  });
  if (sum !== total) throw new Error(`the row groups hold ${sum} rows but num_rows says ${total}`);
}

/** Every page header of the group's column chunks: sizes inside the chunk and bounded, value counts within the chunk's
 *  (which are what hyparquet sizes its arrays and loops by). */
async function checkPages(buffer: AsyncBuffer, metadata: FileMetaData, group: FileMetaData["row_groups"][number], where: string): Promise<void> {
  for (const [c, chunk] of group.columns.entries()) {
    const meta = chunk.meta_data!;
    const schemaPath = getSchemaPath(metadata.schema, meta.path_in_schema);
    const levels = { rep: schemaPath.length > 1 ? getMaxRepetitionLevel(schemaPath) : 0, def: getMaxDefinitionLevel(schemaPath), boolean: meta.type === "BOOLEAN" };
    const start = Number(meta.dictionary_page_offset || meta.data_page_offset);
    const bytes = await buffer.slice(start, start + Number(meta.total_compressed_size));
    const reader = { view: new DataView(bytes), offset: 0 };
    const chunkValues = Number(meta.num_values);
    let values = 0;
    while (values < chunkValues) {
      if (reader.offset >= bytes.byteLength) throw new Error(`${where}, column ${c}: the pages end after ${values} of ${chunkValues} values`);
      const header = parquetHeader(reader);
      const what = `${where}, column ${c}, page at byte ${start + reader.offset}`;
      const compressed = count(header.compressed_page_size, `${what}: compressed_page_size`);
      const uncompressed = count(header.uncompressed_page_size, `${what}: uncompressed_page_size`);
      if (reader.offset + compressed > bytes.byteLength) throw new Error(`${what}: ${compressed} bytes run past the column chunk`);
      if (uncompressed > MAX_PAGE_BYTES || (meta.codec === "UNCOMPRESSED" && uncompressed !== compressed)) {
        throw new Error(`${what}: uncompressed_page_size ${uncompressed} for ${compressed} stored bytes`);
      }
      const dataHeader = header.data_page_header ?? header.data_page_header_v2;
      if (header.dictionary_page_header) {
        if (count(header.dictionary_page_header.num_values, `${what}: num_values`) > uncompressed) throw new Error(`${what}: more dictionary values than bytes`);
      } else if (dataHeader) {
        values += count(dataHeader.num_values, `${what}: num_values`);
        if (values > chunkValues) throw new Error(`${what}: the pages hold more values than the chunk's ${chunkValues}`);
        const page = new Uint8Array(bytes, reader.offset, compressed);
        if (header.data_page_header) checkPageV1(decompressPage(page, uncompressed, meta.codec, undefined), header.data_page_header, levels, what);
        else checkPageV2(page, header, meta.codec, levels, what);
      }
      reader.offset += compressed;
    }
  }
}

interface Levels { rep: number; def: number; boolean: boolean }
type PageHeader = ReturnType<typeof parquetHeader>;
type Section = { view: DataView; offset: number; end: number };
const bitWidth = (maxLevel: number) => 32 - Math.clz32(maxLevel);

/** The runs of a v1 data page, in hyparquet's order: repetition levels, definition levels (each after a 4-byte
 *  length), then the values when they are RLE / dictionary encoded. */
function checkPageV1(page: Uint8Array, daph: NonNullable<PageHeader["data_page_header"]>, levels: Levels, what: string): void {
  const s: Section = { view: new DataView(page.buffer, page.byteOffset, page.byteLength), offset: 0, end: page.byteLength };
  const n = daph.num_values;
  if (levels.rep) checkRuns(s, bitWidth(levels.rep), n, true, `${what}: repetition levels`);
  if (levels.def) checkRuns(s, bitWidth(levels.def), n, true, `${what}: definition levels`);
  checkValueRuns(s, daph.encoding, levels.boolean, n, 1, what);
}

/** A v2 data page: the levels stored uncompressed with their byte lengths in the header, then the values. */
function checkPageV2(page: Uint8Array, header: PageHeader, codec: CompressionCodec, levels: Levels, what: string): void {
  const daph2 = header.data_page_header_v2!;
  const n = count(daph2.num_values, `${what}: num_values`);
  const nulls = count(daph2.num_nulls, `${what}: num_nulls`);
  if (nulls > n) throw new Error(`${what}: ${nulls} nulls among ${n} values`);
  const repBytes = count(daph2.repetition_levels_byte_length, `${what}: repetition_levels_byte_length`);
  const defBytes = count(daph2.definition_levels_byte_length, `${what}: definition_levels_byte_length`);
  if (repBytes + defBytes > page.byteLength) throw new Error(`${what}: ${repBytes + defBytes} bytes of levels in a ${page.byteLength}-byte page`);
  const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
  // hyparquet reads levels until it has n of them, whatever the sections' byte lengths say: the page bounds them.
  if (levels.rep) checkRuns({ view, offset: 0, end: page.byteLength }, bitWidth(levels.rep), n, false, `${what}: repetition levels`);
  if (levels.def) checkRuns({ view, offset: repBytes, end: page.byteLength }, bitWidth(levels.def), n, false, `${what}: definition levels`);
  const valueBytes = header.uncompressed_page_size - repBytes - defBytes;
  let values = page.subarray(repBytes + defBytes);
  if (daph2.is_compressed !== false && valueBytes) values = decompressPage(values, valueBytes, codec, undefined);
  checkValueRuns({ view: new DataView(values.buffer, values.byteOffset, values.byteLength), offset: 0, end: values.byteLength }, daph2.encoding, levels.boolean, n - nulls, 2, what);
}

/** Values in the hybrid encoding, read as hyparquet reads them: RLE booleans (1 bit, after a 4-byte length; in v1
 *  pages also dictionary-encoded ones) or dictionary indices (a bit-width byte, then runs to the end of the page; a
 *  width of 0 in a v1 page means all zeros, no runs). */
function checkValueRuns(s: Section, encoding: string, boolean: boolean, n: number, version: 1 | 2, what: string): void {
  const dictionary = encoding === "RLE_DICTIONARY" || encoding === "PLAIN_DICTIONARY";
  if (encoding === "RLE" && (version === 2 || boolean)) return checkRuns(s, 1, n, true, `${what}: values`);
  if (!dictionary && encoding !== "RLE") return;
  if (version === 1 && boolean) return checkRuns(s, 1, n, true, `${what}: values`);
  if (s.offset >= s.end) return; // hyparquet fails on the missing byte itself
  const width = s.view.getUint8(s.offset++);
  if (width > 32) throw new Error(`${what}: dictionary indices of ${width} bits`);
  if (width || version === 2) checkRuns(s, width, n, false, `${what}: dictionary indices`);
}

/**
 * Walks the runs of one RLE / bit-packed hybrid section as hyparquet will decode up to `n` values from it: each
 * run's values within what is left of the `n` (a bit-packed run's last group of 8 may be padding) and its bytes within
 * the page. `prefixed`: the section starts with its 4-byte length.
 */
function checkRuns(s: Section, width: number, n: number, prefixed: boolean, what: string): void {
  if (prefixed) {
    if (s.offset + 4 > s.end) throw new Error(`${what}: no room for the length`);
    const length = s.view.getUint32(s.offset, true);
    s.offset += 4;
    if (length > s.end - s.offset) throw new Error(`${what}: length ${length} is more than the ${s.end - s.offset} bytes left in the page`);
  }
  let seen = 0;
  while (seen < n) {
    let header = 0, shift = 0, byte: number;
    do {
      // Runs that end early are not a risk here: hyparquet then reads past the page and fails, naming the bytes.
      if (s.offset >= s.end) return;
      if (shift > 28) throw new Error(`${what}: a run header longer than 5 bytes`);
      byte = s.view.getUint8(s.offset++);
      header += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    const bitPacked = header % 2 === 1;
    const values = bitPacked ? Math.floor(header / 2) * 8 : Math.floor(header / 2);
    const bytes = bitPacked ? (values / 8) * width : Math.ceil(width / 8);
    if (values > n - seen + (bitPacked ? 7 : 0)) throw new Error(`${what}: a run of ${values} values where ${n - seen} of the page's ${n} are left`);
    if (bytes > s.end - s.offset) throw new Error(`${what}: a run of ${bytes} bytes where ${s.end - s.offset} are left`);
    s.offset += bytes;
    seen = Math.min(n, seen + values);
  }
}

/** INT64 columns arrive as bigint; labels and ids fit in a number. */
function plainValues(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    out[key] = typeof value === "bigint" && Number.isSafeInteger(Number(value)) ? Number(value) : value;
  }
  return out;
}

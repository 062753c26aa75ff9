// Parquet through hyparquet, one row group at a time so a large file is never decoded whole.
// hyparquet reads uncompressed and snappy files (what HF's datasets writes); other codecs need the
// separate hyparquet-compressors package.
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from "hyparquet";

export async function* readParquet(
  file: string,
): AsyncGenerator<{ columns: string[]; rows: Record<string, unknown>[]; firstRow: number }> {
  let metadata;
  const buffer = await asyncBufferFromFile(file);
  try {
    metadata = await parquetMetadataAsync(buffer);
  } catch (e) {
    throw new Error(`${file}: not a readable parquet file: ${(e as Error).message}`);
  }
  const columns = parquetSchema(metadata).children.map((c) => c.element.name);
  let start = 0;
  for (const group of metadata.row_groups) {
    const end = start + Number(group.num_rows);
    const rows = await parquetReadObjects({ file: buffer, metadata, rowStart: start, rowEnd: end });
    yield { columns, rows: rows.map(plainValues), firstRow: start };
    start = end;
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

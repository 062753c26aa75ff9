import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, rename, stat, unlink } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { HttpStatusError, request, ShortBodyError, withRetries } from "./http.js";

// Downloads one file into `<blob>.incomplete`, resuming with a Range request from whatever a previous attempt (or an
// earlier, interrupted process) left there, then checks size and sha256 and renames it into place. A blob therefore
// exists only complete and verified; a failed checksum leaves nothing behind.

export interface BlobDownload {
  url: URL;
  /** Request headers for a URL (credentials only for the hub's own origin, never for a CDN it redirects to). */
  headersFor: (url: URL) => Record<string, string>;
  blobPath: string;
  /** From X-Linked-Size / Content-Length of the metadata request. */
  size?: number;
  /** Lower-case hex; LFS files are named by it. */
  sha256?: string;
  /** Names the file in errors, e.g. "org/name/model.safetensors". */
  label: string;
  timeoutMs: number;
  retries: number;
}

const MAX_REDIRECTS = 5;

export async function downloadBlob(d: BlobDownload): Promise<void> {
  const partial = `${d.blobPath}.incomplete`;
  const total = await withRetries(d.retries, () => fetchRest(d, partial)).catch((err: Error) => {
    throw new Error(`download of ${d.label} from ${d.url.href} failed: ${err.message} (data received so far stays in the cache; the next attempt resumes from it)`, { cause: err });
  });
  const actualSize = (await stat(partial)).size;
  if (actualSize !== total) {
    await unlink(partial);
    throw new Error(`download of ${d.label} has ${actualSize} bytes, expected ${total}; the partial file was deleted`);
  }
  if (d.sha256) {
    const actual = await sha256File(partial);
    if (actual !== d.sha256) {
      await unlink(partial);
      throw new Error(`checksum mismatch for ${d.label}: expected sha256 ${d.sha256}, got ${actual}; the download was deleted`);
    }
  }
  await rename(partial, d.blobPath);
}

/** One attempt: appends the missing bytes to `partial`; returns the file's total size. */
async function fetchRest(d: BlobDownload, partial: string): Promise<number> {
  let have = await stat(partial).then((s) => s.size, () => 0);
  if (d.size !== undefined && have > d.size) have = 0;
  if (d.size !== undefined && have === d.size) return have;
  const res = await get(d, have);
  let total = d.size;
  if (res.statusCode === 206) {
    const range = /^bytes (\d+)-\d+\/(\d+)$/.exec(res.headers["content-range"] ?? "");
    if (!range || Number(range[1]) !== have) {
      res.destroy();
      await unlink(partial).catch(() => undefined);
      throw new ShortBodyError(`unexpected Content-Range ${res.headers["content-range"]} for ${d.label}; restarting`);
    }
    total ??= Number(range[2]);
  } else if (res.statusCode === 200) {
    have = 0;
    const length = res.headers["content-length"];
    if (total === undefined && length !== undefined) total = Number(length);
  } else if (res.statusCode === 416) {
    res.resume();
    await unlink(partial).catch(() => undefined);
    throw new ShortBodyError(`server refused to resume ${d.label}; restarting`);
  } else {
    res.resume();
    throw new HttpStatusError(res.statusCode ?? 0, d.url.href, `HTTP ${res.statusCode} while downloading ${d.label} from ${d.url.href}`);
  }

  const fh = await open(partial, have > 0 ? "a" : "w");
  let size = have;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (total !== undefined && size > total) {
        res.destroy();
        await fh.truncate(0);
        throw new Error(`server sent more than the announced ${total} bytes for ${d.label}`);
      }
      await fh.write(chunk);
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  if (total === undefined) return size; // no length announced anywhere: the end of the stream is the end of the file
  if (size < total) throw new ShortBodyError(`connection closed after ${size} of ${total} bytes of ${d.label}`);
  return total;
}

async function get(d: BlobDownload, from: number): Promise<IncomingMessage> {
  let url = d.url;
  for (let hop = 0; ; hop++) {
    const headers = d.headersFor(url);
    if (from > 0) headers.Range = `bytes=${from}-`;
    const res = await request(url, { method: "GET", headers, timeoutMs: d.timeoutMs });
    const location = res.headers.location;
    if (!location || ![301, 302, 303, 307, 308].includes(res.statusCode ?? 0)) return res;
    res.resume();
    if (hop >= MAX_REDIRECTS) throw new Error(`too many redirects downloading ${d.label} from ${d.url.href}`);
    url = new URL(location, url);
  }
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

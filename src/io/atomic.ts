import { randomBytes } from "node:crypto";
import { open, rename, unlink, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fileSystemError } from "./errors.js";

// Readers must never see a half-written file (a crash mid-save would otherwise destroy the previous checkpoint), so
// every write goes to a temp file in the same directory (rename is only atomic within one file system) and is fsynced
// before the rename.

/** Writes `path` through `write(fh)` on a temp file, then renames it into place. The temp file is removed on error. */
export async function writeAtomic(path: string, write: (fh: FileHandle) => Promise<void>): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  const fh = await open(tmp, "wx").catch((e: unknown) => { throw fileSystemError(e, path, "writing"); });
  try {
    try {
      await write(fh);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw fileSystemError(err, path, "writing");
  }
  await syncDir(dir);
}

/** A temp file writeAtomic left behind when its process was killed mid-write. */
export function isAtomicTempFile(name: string): boolean {
  return /^\..+\.\d+\.[0-9a-f]{12}\.tmp$/.test(name);
}

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await writeAtomic(path, async (fh) => {
    await fh.writeFile(data);
  });
}

export async function writeJsonAtomic(path: string, value: unknown, indent = 2): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, indent)}\n`);
}

// Makes the rename itself durable. Some platforms (Windows) cannot open or fsync a directory; the rename is still atomic.
export async function syncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, "r");
    await fh.sync();
  } catch {
    // best effort, see above
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

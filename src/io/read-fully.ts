import { readSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { FileFormatError } from "./errors.js";

// A positional read may return fewer bytes than asked (large reads are capped near 2 GB on Linux): loop until full.
// Running out of bytes means the file is shorter than its own header claims, or it changed while being read.

export async function readFully(fh: FileHandle, target: Uint8Array, position: number, path: string): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const { bytesRead } = await fh.read(target, done, target.length - done, position + done);
    if (bytesRead === 0) throw new FileFormatError(path, `unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
}

export function readFullySync(fd: number, target: Uint8Array, position: number, path: string): void {
  let done = 0;
  while (done < target.length) {
    const bytesRead = readSync(fd, target, done, target.length - done, position + done);
    if (bytesRead === 0) throw new FileFormatError(path, `unexpected end of file at byte ${position + done}`);
    done += bytesRead;
  }
}

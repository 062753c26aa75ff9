// One writer per folder. Two runs writing the same output folder would interleave their files into a set that
// neither produced, so a run holds a lock file naming its process while it writes. A lock whose process is gone
// (the run was killed) is taken over; one held by a live process, or by a process on another machine (which this
// one cannot check), is refused. Readers check the lock too (assertNotBeingWritten), so no command loads a
// folder halfway through a save.
import { randomBytes } from "node:crypto";
import { link, readFile, rename, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { fileSystemError } from "./errors.js";

export const LOCK_FILE = ".finetune.lock";

interface Holder {
  pid: number;
  host: string;
  since: string;
  /** What is writing, e.g. "finetune train" (absent in locks of older versions). */
  command?: string;
}

export interface FolderLock {
  readonly file: string;
  /** Removes the lock file, if it is still this process's. */
  release(): Promise<void>;
}

export interface LockOptions {
  /** Told when a dead process's lock is taken over. */
  onStale?: (message: string) => void;
  /** Recorded in the lock, so a reader can say what is writing. */
  command?: string;
}

export async function lockFolder(dir: string, opts: LockOptions = {}): Promise<FolderLock> {
  const file = join(dir, LOCK_FILE);
  const me: Holder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), command: opts.command };
  const mine = JSON.stringify(me);
  for (let attempt = 0; attempt < 5; attempt++) {
    if (await create(file, mine)) return { file, release: () => release(file, mine) };
    const text = await readFile(file, "utf8").catch(() => null);
    if (text === null) continue; // released in between: try again
    const holder = parse(text);
    if (holder && holder.host !== me.host) {
      throw new Error(`${dir} is being written by process ${holder.pid} on ${holder.host} (since ${holder.since}); ` +
        `wait for it, use another folder, or delete ${file} if that run is gone`);
    }
    if (holder && alive(holder.pid)) {
      throw new Error(`${dir} is being written by another finetune run (process ${holder.pid}${holder.command ? `, ${holder.command}` : ""}, since ${holder.since}); wait for it or use another folder`);
    }
    // Moved aside rather than deleted: of several runs taking over at once, one rename wins, and a loser that
    // moved the winner's fresh lock instead of the stale one puts it back.
    const aside = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
    if (!(await rename(file, aside).then(() => true, () => false))) continue;
    if ((await readFile(aside, "utf8").catch(() => null)) !== text) {
      await rename(aside, file).catch(() => undefined);
      continue;
    }
    await rm(aside, { force: true });
    opts.onStale?.(`${dir}: took over the lock of process ${holder?.pid ?? "?"} (since ${holder?.since ?? "?"}), which is no longer running`);
  }
  throw new Error(`${dir}: could not lock the folder (${file} keeps changing); is another run starting on it?`);
}

/** Refuses to read `dir` while another live process writes it: what a reader would load could be half of a save.
 *  A lock of a process that is gone (killed) is ignored, as is this process's own. */
export async function assertNotBeingWritten(dir: string): Promise<void> {
  const file = join(dir, LOCK_FILE);
  const text = await readFile(file, "utf8").catch(() => null);
  const holder = text === null ? null : parse(text);
  if (!holder) return;
  const what = holder.command ?? "finetune";
  if (holder.host !== hostname()) {
    throw new Error(`${dir} is being written by pid ${holder.pid} on ${holder.host} (${what}, since ${holder.since}); ` +
      `wait for it, or delete ${file} if that run is gone`);
  }
  if (holder.pid === process.pid || !alive(holder.pid)) return;
  throw new Error(`${dir} is being written by pid ${holder.pid} (${what}, since ${holder.since}); wait for it or use an output that is finished`);
}

/** Creates the lock file with its content in one step (a hard link of a complete temp file), so no reader ever
 *  sees it empty; false when it exists. */
async function create(file: string, content: string): Promise<boolean> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.new`;
  await writeFile(tmp, content).catch((e: unknown) => { throw fileSystemError(e, file, "locking the folder"); });
  try {
    await link(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw fileSystemError(e, file, "locking the folder");
  } finally {
    await rm(tmp, { force: true });
  }
}

async function release(file: string, mine: string): Promise<void> {
  if ((await readFile(file, "utf8").catch(() => null)) === mine) await rm(file, { force: true });
}

function parse(text: string): Holder | null {
  try {
    const h = JSON.parse(text) as Partial<Holder>;
    if (!Number.isInteger(h.pid) || typeof h.host !== "string") return null;
    return { pid: h.pid!, host: h.host, since: String(h.since), command: typeof h.command === "string" ? h.command : undefined };
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, under another user.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

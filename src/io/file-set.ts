// Replacing a set of files that only make sense together (config.json with its model.safetensors, an adapter with
// the settings that describe it) so that no kill leaves a mix of two sets. The new set is written into a staging
// folder inside the target; renaming it to the "ready" name is the commit point. Moving the files into place then
// finishes the job, and whoever finds a ready folder later (a killed save) finishes it the same way; a staging
// folder found later is an unfinished write and is dropped.
import { mkdir, open, readFile, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { syncDir, writeJsonAtomic } from "./atomic.js";
import { fileSystemError } from "./errors.js";

const STAGING = ".finetune-save.tmp";
const READY = ".finetune-save.ready";
/** In the ready folder: the names of the new set (files already moved out are no longer listed by the folder). */
const MANIFEST = ".files.json";

/** A file name, or a pattern for names that vary. */
export type FileSetMember = string | RegExp;

export function isMember(name: string, members: readonly FileSetMember[]): boolean {
  return members.some((m) => (typeof m === "string" ? m === name : m.test(name)));
}

/**
 * Writes a new set with `write(folder)` and swaps it in for the old one in `dir`. `members` names every file a
 * set of this kind may hold (a pattern for names that vary, as weight shards' do): those of the old set that the
 * new one lacks are removed, so nothing stale is left.
 */
export async function replaceFileSet(dir: string, members: readonly FileSetMember[], write: (folder: string) => Promise<void>): Promise<void> {
  const staging = join(dir, STAGING);
  try {
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true });
    await write(staging);
    const names = (await readdir(staging)).filter((n) => !n.startsWith("."));
    // Some writers (the tokenizer's) do not fsync; the rename below must not publish files still in the page cache.
    for (const n of names) await syncFile(join(staging, n));
    await writeJsonAtomic(join(staging, MANIFEST), names);
    await rename(staging, join(dir, READY));
    await syncDir(dir);
  } catch (e) {
    await rm(staging, { recursive: true, force: true }).catch(() => undefined);
    throw fileSystemError(e, dir, "saving");
  }
  await finishFileSet(dir, members);
}

/** Finishes a replacement that was killed after its commit point, and drops the leftovers of one killed before it. */
export async function finishFileSet(dir: string, members: readonly FileSetMember[]): Promise<void> {
  const ready = join(dir, READY);
  const manifest = await readFile(join(ready, MANIFEST), "utf8").catch(() => null);
  if (manifest !== null) {
    const names = JSON.parse(manifest) as string[];
    const kept = new Set(names);
    for (const n of await readdir(dir)) if (isMember(n, members) && !kept.has(n)) await rm(join(dir, n), { recursive: true, force: true });
    const left = new Set(await readdir(ready));
    for (const n of names) {
      if (!left.has(n)) continue; // moved before the kill
      await rm(join(dir, n), { recursive: true, force: true });
      await rename(join(ready, n), join(dir, n));
    }
    await syncDir(dir);
  }
  await rm(ready, { recursive: true, force: true });
  await rm(join(dir, STAGING), { recursive: true, force: true });
}

async function syncFile(path: string): Promise<void> {
  const fh = await open(path, "r");
  try {
    if ((await fh.stat()).isFile()) await fh.sync();
  } finally {
    await fh.close();
  }
}

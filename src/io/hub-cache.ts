import { mkdir, readFile } from "node:fs/promises";
import { exists } from "./exists.js";
import { homedir } from "node:os";
import { join, resolve, sep } from "node:path";
import { writeJsonAtomic } from "./atomic.js";

// The huggingface_hub cache layout, so that Python and this library share downloads (datasets use datasets--...):
//   <cache>/models--<org>--<name>/blobs/<etag>                  file contents, named by ETag (sha256 for LFS files)
//   <cache>/models--<org>--<name>/snapshots/<commit>/<filename> symlink to ../../blobs/<etag> (a copy where links fail)
//   <cache>/models--<org>--<name>/refs/<revision>               the commit hash a branch or tag resolved to
//   <cache>/models--<org>--<name>/.no_exist/<commit>/<filename> marker: the file is absent at that commit
//   <cache>/models--<org>--<name>/trees/<commit>.json           the repo's file listing at that commit
// Repo ids, file names and revisions come from users and servers and all become paths: each is checked here.

export type RepoType = "model" | "dataset";

export interface HubOptions {
  /** Default "model". Datasets live under /datasets/ on the hub and datasets--org--name in the cache. */
  repoType?: RepoType;
  /** Branch, tag or commit hash. Default "main". */
  revision?: string;
  /** Default: $HF_HUB_CACHE, $HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub or ~/.cache/huggingface/hub. */
  cacheDir?: string;
  /** Sent as `Authorization: Bearer` to the endpoint. Default $HF_TOKEN; false sends none. */
  token?: string | false;
  /** Default $HF_ENDPOINT or https://huggingface.co. */
  endpoint?: string;
  /** Only use the cache. Default from $HF_HUB_OFFLINE. */
  offline?: boolean;
  /** Socket idle timeout per request. Default $HF_HUB_DOWNLOAD_TIMEOUT seconds, or 10 s. */
  timeoutMs?: number;
  /** Extra attempts after a network error, a timeout or a 5xx. Default 3. */
  retries?: number;
}

export interface HubConfig {
  repoType: RepoType;
  revision: string;
  cacheDir: string;
  token: string | undefined;
  endpoint: string;
  offline: boolean;
  timeoutMs: number;
  retries: number;
}

export function hubConfig(opts: HubOptions): HubConfig {
  const env = process.env;
  const hfHome = env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "huggingface");
  const revision = opts.revision ?? "main";
  checkRelativePath(revision, "revision");
  const timeoutSec = Number(env.HF_HUB_DOWNLOAD_TIMEOUT);
  const repoType = opts.repoType ?? "model";
  if (repoType !== "model" && repoType !== "dataset") throw new Error(`invalid repoType ${JSON.stringify(repoType)}: expected "model" or "dataset"`);
  return {
    repoType,
    revision,
    cacheDir: resolve(opts.cacheDir ?? env.HF_HUB_CACHE ?? env.HUGGINGFACE_HUB_CACHE ?? join(hfHome, "hub")),
    token: opts.token === false ? undefined : (opts.token ?? (env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined)),
    endpoint: (opts.endpoint ?? env.HF_ENDPOINT ?? "https://huggingface.co").replace(/\/+$/, ""),
    offline: opts.offline ?? isTruthy(env.HF_HUB_OFFLINE),
    timeoutMs: opts.timeoutMs ?? (timeoutSec > 0 ? timeoutSec * 1000 : 10_000),
    retries: opts.retries ?? 3,
  };
}

function isTruthy(v: string | undefined): boolean {
  return ["1", "on", "yes", "true"].includes((v ?? "").toLowerCase());
}

/** "org/name" or "name": word characters, '.', '-'; no "..", no "--" (it separates parts of the cache folder name). */
export function checkRepoId(repoId: string): void {
  const ok =
    repoId.length <= 96 &&
    /^[\w.-]+(\/[\w.-]+)?$/.test(repoId) &&
    !repoId.includes("..") &&
    !repoId.includes("--") &&
    repoId.split("/").every((s) => !/^[.-]|[.-]$/.test(s));
  if (!ok) throw new Error(`invalid repo id ${JSON.stringify(repoId)}: expected "org/name" (letters, digits, "_", ".", "-")`);
}

/** A file name or revision inside a repo: "/"-separated, no empty, "." or ".." segment, no backslash or drive. */
export function checkRelativePath(path: string, what: string): void {
  const ok =
    path.length > 0 &&
    !/[\\\0]/.test(path) &&
    !/^[A-Za-z]:/.test(path) &&
    path.split("/").every((s) => s.length > 0 && s !== "." && s !== "..");
  if (!ok) throw new Error(`invalid ${what} ${JSON.stringify(path)}: must be a relative path without "..", empty segments or backslashes`);
}

/** Names taken from response headers (ETag, commit) become single path segments. */
export function isSafeSegment(s: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/.test(s) && !s.includes("..");
}

export function isCommitHash(revision: string): boolean {
  return /^[0-9a-f]{40}$/.test(revision);
}

/** One file of a repo listing, as the hub's tree API describes it. */
export interface RepoFileInfo {
  path: string;
  size: number;
  /** Git blob id. */
  oid: string;
  /** For LFS files: the sha256 and size of the contents. */
  lfs?: { oid: string; size: number };
}

/** huggingface_hub's trees/<commit>.json; another version is ignored and fetched again. */
const TREE_FORMAT_VERSION = 1;

interface TreeCacheEntry {
  size: number;
  blob_id: string;
  lfs_sha256?: string;
  lfs_size?: number;
}

/** Paths of one repo's cache folder; every path is checked to stay inside it. */
export class RepoCache {
  readonly root: string;

  constructor(cacheDir: string, repoId: string, repoType: RepoType = "model") {
    checkRepoId(repoId);
    this.root = resolve(cacheDir, `${repoType}s--${repoId.replace("/", "--")}`);
  }

  blob(etag: string): string {
    return this.inside("blobs", etag);
  }

  snapshotDir(commit: string): string {
    return this.inside("snapshots", commit);
  }

  snapshot(commit: string, filename: string): string {
    return this.inside("snapshots", commit, ...filename.split("/"));
  }

  ref(revision: string): string {
    return this.inside("refs", ...revision.split("/"));
  }

  noExist(commit: string, filename: string): string {
    return this.inside(".no_exist", commit, ...filename.split("/"));
  }

  /** The listing cached for a commit; undefined when there is none (or it is unreadable). */
  async readTree(commit: string): Promise<RepoFileInfo[] | undefined> {
    const text = await readFile(this.inside("trees", `${commit}.json`), "utf8").catch(() => undefined);
    try {
      const data = text === undefined ? undefined : JSON.parse(text);
      if (data?.format_version !== TREE_FORMAT_VERSION || typeof data.files !== "object") return undefined;
      return Object.entries(data.files as Record<string, TreeCacheEntry>).map(([path, e]) => {
        checkRelativePath(path, "file name in the cached listing");
        const lfs = typeof e.lfs_sha256 === "string" ? { oid: e.lfs_sha256, size: Number(e.lfs_size) } : undefined;
        return { path, size: Number(e.size), oid: String(e.blob_id), ...(lfs && { lfs }) };
      });
    } catch {
      return undefined;
    }
  }

  async writeTree(commit: string, files: RepoFileInfo[]): Promise<void> {
    const entries: Record<string, TreeCacheEntry> = {};
    for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : 1))) {
      entries[f.path] = { size: f.size, blob_id: f.oid, ...(f.lfs && { lfs_sha256: f.lfs.oid, lfs_size: f.lfs.size }) };
    }
    const path = this.inside("trees", `${commit}.json`);
    await this.ensureParent(path);
    await writeJsonAtomic(path, { format_version: TREE_FORMAT_VERSION, files: entries });
  }

  /** The commit a revision points to in this cache, if known. */
  async commitFor(revision: string): Promise<string | undefined> {
    if (isCommitHash(revision)) return revision;
    const commit = await readFile(this.ref(revision), "utf8").then((s) => s.trim(), () => undefined);
    return commit !== undefined && isSafeSegment(commit) ? commit : undefined;
  }

  /** The cached path at a commit; null when the cache knows the file does not exist; undefined when it does not know. */
  async lookup(commit: string, filename: string): Promise<string | null | undefined> {
    const path = this.snapshot(commit, filename);
    if (await exists(path)) return path;
    if (await exists(this.noExist(commit, filename))) return null;
    return undefined;
  }

  async ensureParent(path: string): Promise<void> {
    await mkdir(resolve(path, ".."), { recursive: true });
  }

  private inside(...segments: string[]): string {
    const path = resolve(this.root, ...segments);
    if (!path.startsWith(this.root + sep)) throw new Error(`refusing to write outside the cache: ${path}`);
    return path;
  }
}


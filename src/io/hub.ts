import { randomBytes } from "node:crypto";
import { copyFile, mkdir, rename, stat, symlink, unlink } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { dirname, join, relative } from "node:path";
import { writeFileAtomic } from "./atomic.js";
import { downloadBlob } from "./blob-download.js";
import { WEIGHT_FILES } from "./checkpoint.js";
import {
  checkRelativePath,
  checkRepoId,
  exists,
  hubConfig,
  isSafeSegment,
  RepoCache,
  type HubConfig,
  type HubOptions,
} from "./hub-cache.js";
import { HttpStatusError, readBody, request, withRetries } from "./http.js";
import { readShardIndex } from "./shard-index.js";

export type { HubOptions } from "./hub-cache.js";

export interface ResolveOptions extends HubOptions {
  /** Default true: a missing file is an error. With false, a missing file resolves to null. */
  required?: boolean;
}

export interface SnapshotOptions extends HubOptions {
  /** fnmatch-style patterns as in huggingface_hub ("*.json", "model*.safetensors"); "*" also matches "/". */
  allowPatterns?: string[];
  ignorePatterns?: string[];
}

export interface ResolvedWeights {
  format: "safetensors" | "pytorch";
  /** Local paths of the weight files (all shards), all in one folder that loadCheckpoint reads. */
  files: string[];
  folder: string;
}

const MAX_REDIRECTS = 5;

/**
 * Local path of `filename` from a local model folder or a hub repo, downloading it into the cache when needed.
 * A file already in the cache for that revision is returned without any network request.
 */
export function resolveModelFile(repoIdOrPath: string, filename: string, opts?: ResolveOptions & { required?: true }): Promise<string>;
export function resolveModelFile(repoIdOrPath: string, filename: string, opts: ResolveOptions): Promise<string | null>;
export async function resolveModelFile(repoIdOrPath: string, filename: string, opts: ResolveOptions = {}): Promise<string | null> {
  return (await resolveFile(repoIdOrPath, filename, opts))?.path ?? null;
}

interface Resolved {
  path: string;
  /** undefined for local folders. */
  commit?: string;
}

async function resolveFile(repoIdOrPath: string, filename: string, opts: ResolveOptions): Promise<Resolved | null> {
  checkRelativePath(filename, "file name");
  const required = opts.required ?? true;
  if (await isDirectory(repoIdOrPath)) {
    const path = join(repoIdOrPath, ...filename.split("/"));
    if (await exists(path)) return { path };
    if (required) throw new Error(`file ${filename} not found in local folder ${repoIdOrPath}`);
    return null;
  }
  const cfg = hubConfig(opts);
  const repoId = repoIdOrPath;
  const cache = new RepoCache(cfg.cacheDir, repoId);
  const commit = await cache.commitFor(cfg.revision);
  const cached = commit === undefined ? undefined : await cache.lookup(commit, filename);
  if (typeof cached === "string") return { path: cached, commit };
  const where = `file ${filename} not found in repo ${repoId} at revision ${cfg.revision}`;
  if (cached === null) {
    if (required) throw new Error(`${where} (cached as missing in ${cache.root})`);
    return null;
  }
  if (cfg.offline) {
    if (required) throw new Error(`offline mode (HF_HUB_OFFLINE): ${filename} of ${repoId} at revision ${cfg.revision} is not in the cache ${cache.root}`);
    return null;
  }
  return download(cfg, cache, repoId, filename, required);
}

async function download(cfg: HubConfig, cache: RepoCache, repoId: string, filename: string, required: boolean): Promise<Resolved | null> {
  const url = new URL(`${cfg.endpoint}/${repoId}/resolve/${encodeURIComponent(cfg.revision)}/${filename.split("/").map(encodeURIComponent).join("/")}`);
  const head = await withRetries(cfg.retries, () => headFollowingRelative(url, cfg));
  const status = head.res.statusCode ?? 0;
  const commit = unquote(head.res.headers["x-repo-commit"]);
  if (status === 404) {
    // Mirrors may omit X-Error-Code; a 404 that does not blame the repo or revision means the file is absent.
    const code = head.res.headers["x-error-code"];
    if (code === "RepoNotFound") throw new Error(`repo ${repoId} not found (404 from ${head.url.href})`);
    if (code === "RevisionNotFound") throw new Error(`revision ${cfg.revision} not found in repo ${repoId} (404 from ${head.url.href})`);
    if (commit && isSafeSegment(commit)) {
      const marker = cache.noExist(commit, filename);
      await cache.ensureParent(marker);
      await writeFileAtomic(marker, "");
      await writeRef(cache, cfg.revision, commit);
    }
    if (!required) return null;
    throw new Error(`file ${filename} not found in repo ${repoId} at revision ${cfg.revision} (404 from ${head.url.href})`);
  }
  if (status === 401 || status === 403) {
    throw new HttpStatusError(
      status,
      head.url.href,
      `access to ${repoId} denied (${status} from ${head.url.href}): the repo may be private or gated, or may not exist; ` +
        (cfg.token ? "check that HF_TOKEN grants access to it" : "set HF_TOKEN to a token that grants access"),
    );
  }
  if (status >= 400 || status < 200) throw new HttpStatusError(status, head.url.href, `HTTP ${status} from ${head.url.href}`);
  if (!commit || !isSafeSegment(commit)) {
    throw new Error(`${head.url.href} sent no valid X-Repo-Commit header (${JSON.stringify(commit)}); is ${cfg.endpoint} a Hugging Face hub?`);
  }
  const etag = unquote(head.res.headers["x-linked-etag"] ?? head.res.headers.etag);
  if (!etag || !isSafeSegment(etag)) throw new Error(`${head.url.href} sent an invalid ETag ${JSON.stringify(etag)}`);
  const sizeHeader = head.res.headers["x-linked-size"] ?? (status === 200 ? head.res.headers["content-length"] : undefined);
  const size = sizeHeader !== undefined && /^\d+$/.test(String(sizeHeader)) ? Number(sizeHeader) : undefined;

  const blob = cache.blob(etag);
  if (!(await exists(blob))) {
    await cache.ensureParent(blob);
    const location = head.res.headers.location;
    await downloadBlob({
      url: location && status >= 300 ? new URL(location, head.url) : head.url,
      headersFor: (u) => requestHeaders(u, cfg),
      blobPath: blob,
      size,
      sha256: /^[0-9a-f]{64}$/.test(etag) ? etag : undefined,
      label: `${repoId}/${filename}`,
      timeoutMs: cfg.timeoutMs,
      retries: cfg.retries,
    });
  }
  const path = cache.snapshot(commit, filename);
  await linkSnapshot(cache, blob, path);
  await writeRef(cache, cfg.revision, commit);
  return { path, commit };
}

/** Metadata request. Relative redirects (a renamed repo) are followed; an absolute one (the CDN) carries the metadata. */
async function headFollowingRelative(start: URL, cfg: HubConfig): Promise<{ res: IncomingMessage; url: URL }> {
  let url = start;
  for (let hop = 0; ; hop++) {
    const res = await request(url, { method: "HEAD", headers: requestHeaders(url, cfg), timeoutMs: cfg.timeoutMs });
    res.resume();
    const status = res.statusCode ?? 0;
    if (status >= 500 || status === 429) throw new HttpStatusError(status, url.href, `HTTP ${status} from ${url.href}`);
    const location = res.headers.location;
    const absolute = /^([a-z][a-z0-9+.-]*:|\/\/)/i.test(location ?? "");
    if (status < 300 || status >= 400 || !location || absolute) return { res, url };
    if (hop >= MAX_REDIRECTS) throw new Error(`too many redirects from ${start.href}`);
    url = new URL(location, url);
  }
}

function requestHeaders(url: URL, cfg: HubConfig): Record<string, string> {
  const headers: Record<string, string> = { "User-Agent": "finetune-ts", "Accept-Encoding": "identity" };
  if (cfg.token && url.origin === new URL(cfg.endpoint).origin) headers.Authorization = `Bearer ${cfg.token}`;
  return headers;
}

function unquote(v: string | string[] | undefined): string | undefined {
  if (typeof v !== "string") return undefined;
  return v.replace(/^W\//, "").replace(/^"(.*)"$/, "$1");
}

/** Points snapshots/<commit>/<file> at the blob: a relative symlink as huggingface_hub makes, or a copy. */
async function linkSnapshot(cache: RepoCache, blob: string, path: string): Promise<void> {
  await cache.ensureParent(path);
  const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await symlink(relative(dirname(path), blob), tmp);
  } catch {
    await copyFile(blob, tmp);
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

async function writeRef(cache: RepoCache, revision: string, commit: string): Promise<void> {
  if (revision === commit) return;
  const ref = cache.ref(revision);
  await cache.ensureParent(ref);
  await writeFileAtomic(ref, commit);
}

/**
 * Downloads the files of a repo at one commit (those matching allowPatterns and no ignorePatterns) and returns the
 * snapshot folder. Offline, returns the cached snapshot of the revision.
 */
export async function snapshotDownload(repoId: string, opts: SnapshotOptions = {}): Promise<string> {
  checkRepoId(repoId);
  const cfg = hubConfig(opts);
  const cache = new RepoCache(cfg.cacheDir, repoId);
  if (cfg.offline) {
    const commit = await cache.commitFor(cfg.revision);
    const folder = commit && cache.snapshotDir(commit);
    if (folder && (await isDirectory(folder))) return folder;
    throw new Error(`offline mode (HF_HUB_OFFLINE): no cached snapshot of ${repoId} at revision ${cfg.revision} in ${cache.root}`);
  }
  const { commit, files } = await listRepoFiles(cfg, repoId);
  const allow = opts.allowPatterns?.map(globToRegExp);
  const ignore = (opts.ignorePatterns ?? []).map(globToRegExp);
  const wanted = files.filter((f) => (!allow || allow.some((re) => re.test(f))) && !ignore.some((re) => re.test(f)));
  for (const file of wanted) await resolveFile(repoId, file, { ...opts, revision: commit, offline: false });
  await writeRef(cache, cfg.revision, commit);
  const folder = cache.snapshotDir(commit);
  await mkdir(folder, { recursive: true });
  return folder;
}

async function listRepoFiles(cfg: HubConfig, repoId: string): Promise<{ commit: string; files: string[] }> {
  const url = new URL(`${cfg.endpoint}/api/models/${repoId}/revision/${encodeURIComponent(cfg.revision)}`);
  const body = await withRetries(cfg.retries, async () => {
    const res = await request(url, { method: "GET", headers: requestHeaders(url, cfg), timeoutMs: cfg.timeoutMs });
    const status = res.statusCode ?? 0;
    if (status !== 200) {
      res.resume();
      const hint = status === 401 || status === 403 ? "; the repo may be private or gated: set HF_TOKEN" : status === 404 ? `; repo ${repoId} or revision ${cfg.revision} not found` : "";
      throw new HttpStatusError(status, url.href, `HTTP ${status} listing ${repoId} at revision ${cfg.revision} from ${url.href}${hint}`);
    }
    return readBody(res, 64 * 1024 * 1024);
  });
  let info: { sha?: unknown; siblings?: unknown };
  try {
    info = JSON.parse(body.toString("utf8"));
  } catch {
    throw new Error(`invalid JSON from ${url.href}`);
  }
  const commit = info.sha;
  if (typeof commit !== "string" || !isSafeSegment(commit)) throw new Error(`${url.href} returned no valid commit sha`);
  const siblings = Array.isArray(info.siblings) ? info.siblings : [];
  const files = siblings.map((s: { rfilename?: unknown }) => s?.rfilename);
  for (const f of files) {
    if (typeof f !== "string") throw new Error(`${url.href} returned a file entry without rfilename`);
    checkRelativePath(f, "file name from the repo listing");
  }
  return { commit, files: files as string[] };
}

/** fnmatch: "*" any run of characters ("/" included), "?" one, "[...]" a class; a trailing "/" means everything below. */
export function globToRegExp(pattern: string): RegExp {
  const p = pattern.endsWith("/") ? `${pattern}*` : pattern;
  let re = "";
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "[" && p.indexOf("]", i + 2) > 0) {
      const end = p.indexOf("]", i + 2);
      const body = p.slice(i + 1, end).replace(/\\/g, "\\\\");
      re += `[${body.startsWith("!") ? `^${body.slice(1)}` : body}]`;
      i = end;
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, "s");
}

/**
 * Local paths of a model's weights: model.safetensors, else the safetensors shards named by
 * model.safetensors.index.json, else pytorch_model.bin (or its shards). All come from the same commit.
 */
export async function resolveWeights(repoOrDir: string, opts: HubOptions = {}): Promise<ResolvedWeights> {
  for (const name of WEIGHT_FILES) {
    const found = await resolveFile(repoOrDir, name, { ...opts, required: false });
    if (!found) continue;
    const format = name.startsWith("model.safetensors") ? "safetensors" : "pytorch";
    if (!name.endsWith(".index.json")) return { format, files: [found.path], folder: dirname(found.path) };
    // The shards must come from the commit the index was read at, even if the branch moves meanwhile.
    const pinned = found.commit ? { ...opts, revision: found.commit } : opts;
    const files: string[] = [];
    for (const shard of (await readShardIndex(found.path)).shards) {
      files.push((await resolveFile(repoOrDir, shard, { ...pinned, required: true }))!.path);
    }
    return { format, files, folder: dirname(found.path) };
  }
  throw new Error(`no model weights found in ${repoOrDir} at revision ${opts.revision ?? "main"} (looked for ${WEIGHT_FILES.join(", ")})`);
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}

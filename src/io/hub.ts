import { randomBytes } from "node:crypto";
import { copyFile, mkdir, rename, stat, symlink, unlink } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { dirname, join, relative } from "node:path";
import { writeFileAtomic } from "./atomic.js";
import { downloadBlob } from "./blob-download.js";
import { exists } from "./exists.js";
import { WEIGHT_FILES } from "./model-weights.js";
import {
  checkRelativePath,
  checkRepoId,
  hubConfig,
  isCommitHash,
  isSafeSegment,
  RepoCache,
  type HubConfig,
  type HubOptions,
  type RepoFileInfo,
} from "./hub-cache.js";
import { HttpStatusError, readBody, request, withRetries } from "./http.js";
import { readShardIndex } from "./shard-index.js";

export type { HubOptions, RepoFileInfo, RepoType } from "./hub-cache.js";

export interface ResolveOptions extends HubOptions {
  /** Default true: a missing file is an error. With false, a missing file resolves to null. */
  required?: boolean;
}

export interface SnapshotOptions extends HubOptions {
  /** fnmatch-style patterns as in huggingface_hub ("*.json", "model*.safetensors"); "*" also matches "/". */
  allowPatterns?: string[];
  ignorePatterns?: string[];
}

export interface RepoTree {
  /** The commit the listing describes (the revision resolved). */
  commit: string;
  files: RepoFileInfo[];
}

export interface ResolvedWeights {
  format: "safetensors" | "pytorch";
  /** Local paths of the weight files (all shards), all in one folder that loadModelWeights reads. */
  files: string[];
  folder: string;
}

const MAX_REDIRECTS = 5;

/**
 * Local path of `filename` from a local folder or a hub repo (a model, or a dataset with repoType "dataset"),
 * downloading it into the cache when needed. A file already in the cache for that revision is returned without any
 * network request.
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
  const cache = new RepoCache(cfg.cacheDir, repoId, cfg.repoType);
  const commit = await cache.commitFor(cfg.revision);
  const cached = commit === undefined ? undefined : await cache.lookup(commit, filename);
  if (typeof cached === "string") return { path: cached, commit };
  const where = `file ${filename} not found in ${repoLabel(cfg, repoId)} at revision ${cfg.revision}`;
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
  const url = new URL(`${repoUrl(cfg, repoId)}/resolve/${encodeURIComponent(cfg.revision)}/${filename.split("/").map(encodeURIComponent).join("/")}`);
  const head = await withRetries(cfg.retries, () => headFollowingRelative(url, cfg));
  const status = head.res.statusCode ?? 0;
  const commit = unquote(head.res.headers["x-repo-commit"]);
  if (status === 404) {
    // Mirrors may omit X-Error-Code; a 404 that does not blame the repo or revision means the file is absent.
    const blamed = notFoundError(cfg, repoId, head.res, head.url);
    if (blamed) throw blamed;
    if (commit && isSafeSegment(commit)) {
      const marker = cache.noExist(commit, filename);
      await cache.ensureParent(marker);
      await writeFileAtomic(marker, "");
      await writeRef(cache, cfg.revision, commit);
    }
    if (!required) return null;
    throw new Error(`file ${filename} not found in ${repoLabel(cfg, repoId)} at revision ${cfg.revision} (404 from ${head.url.href})`);
  }
  if (status === 401 || status === 403) throw accessDenied(cfg, repoId, head.res, head.url);
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

function repoUrl(cfg: HubConfig, repoId: string): string {
  return cfg.repoType === "dataset" ? `${cfg.endpoint}/datasets/${repoId}` : `${cfg.endpoint}/${repoId}`;
}

function repoLabel(cfg: HubConfig, repoId: string): string {
  return `${cfg.repoType === "dataset" ? "dataset" : "repo"} ${repoId}`;
}

/** The error for a 404 that names the repo or the revision as missing; undefined when it may be just the file. */
function notFoundError(cfg: HubConfig, repoId: string, res: IncomingMessage, url: URL): HttpStatusError | undefined {
  const code = res.headers["x-error-code"];
  if (code === "RepoNotFound") return new HttpStatusError(404, url.href, `${repoLabel(cfg, repoId)} not found (404 from ${url.href})`);
  if (code === "RevisionNotFound") {
    return new HttpStatusError(404, url.href, `revision ${cfg.revision} not found in ${repoLabel(cfg, repoId)} (404 from ${url.href})`);
  }
  return undefined;
}

/** 401/403. The hub answers 401 for private and missing repos alike (to hide which), and names gated repos. */
function accessDenied(cfg: HubConfig, repoId: string, res: IncomingMessage, url: URL): HttpStatusError {
  const status = res.statusCode ?? 0;
  const reason =
    res.headers["x-error-code"] === "GatedRepo"
      ? `it is gated: request access at ${repoUrl(cfg, repoId)}, then `
      : "the repo may be private or gated, or may not exist; ";
  const fix = cfg.token ? "check that HF_TOKEN grants access to it" : "set HF_TOKEN to a token that grants access";
  return new HttpStatusError(status, url.href, `access to ${repoLabel(cfg, repoId)} denied (${status} from ${url.href}): ${reason}${fix}`);
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
  const cache = new RepoCache(cfg.cacheDir, repoId, cfg.repoType);
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
  const { commit, info, url } = await repoInfo(cfg, repoId);
  const siblings = Array.isArray(info.siblings) ? info.siblings : [];
  const files = siblings.map((s: { rfilename?: unknown }) => s?.rfilename);
  for (const f of files) {
    if (typeof f !== "string") throw new Error(`${url.href} returned a file entry without rfilename`);
    checkRelativePath(f, "file name from the repo listing");
  }
  return { commit, files: files as string[] };
}

/** GET /api/{models|datasets}/{repo}/revision/{revision}: the commit it points to, and the repo's metadata. */
async function repoInfo(cfg: HubConfig, repoId: string): Promise<{ commit: string; info: Record<string, unknown>; url: URL }> {
  const url = new URL(`${cfg.endpoint}/api/${cfg.repoType}s/${repoId}/revision/${encodeURIComponent(cfg.revision)}`);
  const { body } = await getJson(cfg, repoId, url);
  const info = (body ?? {}) as Record<string, unknown>;
  const commit = info.sha;
  if (typeof commit !== "string" || !isSafeSegment(commit)) throw new Error(`${url.href} returned no valid commit sha`);
  return { commit, info, url };
}

async function getJson(cfg: HubConfig, repoId: string, url: URL): Promise<{ body: unknown; res: IncomingMessage }> {
  const { res, data } = await withRetries(cfg.retries, async () => {
    const res = await request(url, { method: "GET", headers: requestHeaders(url, cfg), timeoutMs: cfg.timeoutMs });
    const status = res.statusCode ?? 0;
    if (status === 200) return { res, data: await readBody(res, 64 * 1024 * 1024) };
    res.resume();
    if (status === 401 || status === 403) throw accessDenied(cfg, repoId, res, url);
    if (status !== 404) throw new HttpStatusError(status, url.href, `HTTP ${status} from ${url.href}`);
    throw notFoundError(cfg, repoId, res, url) ?? new HttpStatusError(404, url.href, `${repoLabel(cfg, repoId)} or its revision ${cfg.revision} not found (404 from ${url.href})`);
  });
  try {
    return { body: JSON.parse(data.toString("utf8")), res };
  } catch {
    throw new Error(`invalid JSON from ${url.href}`);
  }
}

/**
 * Every file of a repo at a revision (GET /api/{models|datasets}/{repo}/tree/{commit}?recursive=true, following the
 * Link pagination), pinned to one commit. The listing is cached per commit, so offline mode can answer it later.
 */
export async function listRepoTree(repoId: string, opts: HubOptions = {}): Promise<RepoTree> {
  checkRepoId(repoId);
  const cfg = hubConfig(opts);
  const cache = new RepoCache(cfg.cacheDir, repoId, cfg.repoType);
  const known = await cache.commitFor(cfg.revision);
  const cached = known === undefined ? undefined : await cache.readTree(known);
  if (known !== undefined && cached) return { commit: known, files: cached };
  if (cfg.offline) {
    throw new Error(`offline mode (HF_HUB_OFFLINE): the file listing of ${repoLabel(cfg, repoId)} at revision ${cfg.revision} is not in the cache ${cache.root}`);
  }
  const commit = isCommitHash(cfg.revision) ? cfg.revision : (await repoInfo(cfg, repoId)).commit;
  const files: RepoFileInfo[] = [];
  const seen = new Set<string>();
  let url: URL | undefined = new URL(`${cfg.endpoint}/api/${cfg.repoType}s/${repoId}/tree/${commit}?recursive=true`);
  while (url) {
    if (seen.has(url.href)) throw new Error(`the listing of ${repoLabel(cfg, repoId)} repeats page ${url.href}`);
    seen.add(url.href);
    const page = await getJson(cfg, repoId, url);
    if (!Array.isArray(page.body)) throw new Error(`${url.href} returned no JSON array`);
    for (const entry of page.body) if (entry?.type === "file") files.push(treeFile(entry, url));
    url = nextPage(page.res.headers.link, url, cfg);
  }
  await cache.writeTree(commit, files);
  await writeRef(cache, cfg.revision, commit);
  return { commit, files };
}

function treeFile(entry: Record<string, unknown>, url: URL): RepoFileInfo {
  const { path, size, oid, lfs } = entry as { path: unknown; size: unknown; oid: unknown; lfs?: { oid?: unknown; size?: unknown } };
  if (typeof path !== "string" || typeof size !== "number" || typeof oid !== "string") {
    throw new Error(`${url.href} returned a file entry without path, size or oid: ${JSON.stringify(entry).slice(0, 200)}`);
  }
  checkRelativePath(path, "file name from the repo listing");
  if (lfs && typeof lfs.oid === "string" && typeof lfs.size === "number") return { path, size, oid, lfs: { oid: lfs.oid, size: lfs.size } };
  return { path, size, oid };
}

/**
 * The `Link: <...>; rel="next"` page. Mirrors pass the hub's own absolute links through, so a link to another origin is
 * moved onto the endpoint: the listing stays on one server, and the token never leaves it.
 */
function nextPage(link: string | string[] | undefined, current: URL, cfg: HubConfig): URL | undefined {
  const href = /<([^>]*)>[^,]*;\s*rel="?next"?(?=[\s;,]|$)/.exec([link ?? ""].flat().join(","))?.[1];
  if (href === undefined) return undefined;
  const next = new URL(href, current);
  return next.origin === new URL(cfg.endpoint).origin ? next : new URL(`${cfg.endpoint}${next.pathname}${next.search}`);
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

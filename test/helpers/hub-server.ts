import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join, relative } from "node:path";

// A stand-in for the Hugging Face hub on 127.0.0.1, serving local folders as model and dataset repos:
//   HEAD/GET /{org}/{name}/resolve/{revision}/{file}   X-Repo-Commit, ETag, Content-Length; LFS-like files
//   HEAD/GET /datasets/{org}/{name}/resolve/...        (.safetensors, .bin, .parquet) answer 302 to the "CDN" with
//                                                      X-Linked-Etag (sha256) and X-Linked-Size, like the real hub
//   GET /api/{models|datasets}/{org}/{name}/revision/{revision}   {"sha", "siblings": [{"rfilename"}]}
//   GET /api/{models|datasets}/{org}/{name}/tree/{revision}       [{type, path, size, oid, lfs?}], `sim.treePageSize`
//                                                      entries a page, the next one in `Link: <...>; rel="next"`
//   GET /lfs/{sha256} on a second port                 the CDN: another origin, so credentials must not reach it
// A revision is "main", another branch a dataset is given (e.g. "refs/convert/parquet"), or a commit of either.
// Range requests are honoured. `sim` switches simulate failures.

export interface RecordedRequest {
  server: "hub" | "cdn";
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
}

export interface HubSimulation {
  /** Files (repo-relative) whose next GET body is cut off half way. */
  cutOnce: Set<string>;
  /** Announce a sha256 that does not match the content of LFS files. */
  wrongChecksum: boolean;
  /** Answer every resolve request with this status. */
  forceStatus?: number;
  /** Answer 401 unless `Authorization: Bearer <requireToken>` is sent. */
  requireToken?: string;
  /** Never answer resolve requests (the connection stays open). */
  stall: boolean;
  /** Extra or replaced headers on resolve responses. */
  headerOverrides: Record<string, string>;
  /** Entries per tree page. */
  treePageSize: number;
  /** Entries appended to every tree listing (hostile paths, malformed entries). */
  treeExtra: Record<string, unknown>[];
  /** Origin put in the tree's next-page links (a mirror passing on huggingface.co's links); default the hub's own. */
  treeLinkOrigin?: string;
  /** A gated repo: file downloads need `Authorization: Bearer <gated>` (401, or 403 for another token, both with
   *  X-Error-Code GatedRepo), while listings stay open. */
  gated?: string;
}

export interface HubServer {
  /** Endpoint to pass as `endpoint` / HF_ENDPOINT. */
  url: string;
  requests: RecordedRequest[];
  sim: HubSimulation;
  /** Back to a well-behaved hub: every `sim` switch to its default (for a beforeEach). */
  resetSim(): void;
  commitOf(repoId: string, revision?: string, repoType?: "model" | "dataset"): string;
  close(): Promise<void>;
}

const LFS_SUFFIXES = [".safetensors", ".bin", ".parquet"];

interface FileInfo {
  content: Buffer;
  lfs: boolean;
  etag: string;
}

interface Revision {
  commit: string;
  files: Map<string, FileInfo>;
}

/**
 * `repos` maps "org/name" to a local folder served as that model repo's main branch; `datasets` maps "org/name" to a
 * folder (its main branch) or to folders by branch name.
 */
export async function startHubServer(repos: Record<string, string>, datasets: Record<string, string | Record<string, string>> = {}): Promise<HubServer> {
  const requests: RecordedRequest[] = [];
  const wellBehaved = (): HubSimulation => ({ cutOnce: new Set(), wrongChecksum: false, stall: false, headerOverrides: {}, treePageSize: 1000, treeExtra: [] });
  const sim = wellBehaved();
  const resetSim = () => {
    for (const key of Object.keys(sim)) delete (sim as unknown as Record<string, unknown>)[key];
    Object.assign(sim, wellBehaved());
  };
  const commitOf = (repoId: string, revision = "main", repoType = "model") =>
    createHash("sha1").update(`commit of ${repoType} ${repoId} at ${revision}`).digest("hex");
  const byRepo = new Map<string, Map<string, Revision>>();
  const bySha = new Map<string, { file: string; content: Buffer }>();
  const serve = (repoType: string, repoId: string, branches: Record<string, string>) => {
    const revisions = new Map<string, Revision>();
    for (const [revision, dir] of Object.entries(branches)) {
      revisions.set(revision, { commit: commitOf(repoId, revision, repoType), files: readRepo(dir, bySha) });
    }
    byRepo.set(`${repoType}:${repoId}`, revisions);
  };
  for (const [repoId, dir] of Object.entries(repos)) serve("model", repoId, { main: dir });
  for (const [repoId, dirs] of Object.entries(datasets)) serve("dataset", repoId, typeof dirs === "string" ? { main: dirs } : dirs);

  let cdnOrigin = "";
  let hubOrigin = "";
  const hub = createServer((req, res) => {
    requests.push({ server: "hub", method: req.method ?? "", path: req.url ?? "", headers: req.headers });
    handleHub(req, res);
  });
  const cdn = createServer((req, res) => {
    requests.push({ server: "cdn", method: req.method ?? "", path: req.url ?? "", headers: req.headers });
    const sha = /^\/lfs\/([0-9a-f]{64})$/.exec(req.url ?? "")?.[1];
    const found = sha && bySha.get(sha);
    if (!found) return void res.writeHead(404).end();
    sendBody(req, res, found.file, found.content, {});
  });

  /** The repo's revision, or the status and X-Error-Code to answer. */
  function lookup(repoType: string, repoId: string, revision: string): Revision | [number, string] {
    const revisions = byRepo.get(`${repoType}:${repoId}`);
    if (!revisions) return [404, "RepoNotFound"];
    const found = revisions.get(revision) ?? [...revisions.values()].find((r) => r.commit === revision);
    return found ?? [404, "RevisionNotFound"];
  }

  function handleHub(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://x");
    const api = /^\/api\/(models|datasets)\/([^/]+\/[^/]+)\/(revision|tree)\/([^/]+)$/.exec(url.pathname);
    if (api) {
      const [, types, repoId, kind, revision] = api.map((p) => decodeURIComponent(p)) as [string, string, string, string, string];
      const found = lookup(types.slice(0, -1), repoId, revision);
      if (Array.isArray(found)) return void res.writeHead(found[0], { "X-Error-Code": found[1] }).end();
      if (!authorized(req)) return void res.writeHead(401).end();
      if (kind === "revision") {
        const body = JSON.stringify({ id: repoId, sha: found.commit, siblings: [...found.files.keys()].map((rfilename) => ({ rfilename })) });
        return void res.writeHead(200, { "Content-Type": "application/json" }).end(body);
      }
      const entries = [...treeEntries(found.files, url.searchParams.get("recursive") === "true"), ...sim.treeExtra];
      const start = Number(url.searchParams.get("cursor") ?? 0);
      const end = start + sim.treePageSize;
      const headers: Record<string, string> = { "Content-Type": "application/json" };
      if (end < entries.length) {
        const next = new URL(url.pathname + url.search, sim.treeLinkOrigin ?? hubOrigin);
        next.searchParams.set("cursor", String(end));
        headers.Link = `<${next.href}>; rel="next"`;
      }
      return void res.writeHead(200, headers).end(JSON.stringify(entries.slice(start, end)));
    }
    const m = /^\/(datasets\/)?([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (!m) return void res.writeHead(404).end();
    if (sim.stall) return;
    if (sim.forceStatus) return void res.writeHead(sim.forceStatus).end();
    const repoType = m[1] ? "dataset" : "model";
    const repoId = m[2]!;
    const name = m[4]!.split("/").map(decodeURIComponent).join("/");
    if (!byRepo.has(`${repoType}:${repoId}`)) return void res.writeHead(404, { "X-Error-Code": "RepoNotFound" }).end();
    if (!authorized(req)) return void res.writeHead(401, { "X-Error-Code": "GatedRepo" }).end();
    if (sim.gated && req.headers.authorization !== `Bearer ${sim.gated}`) {
      return void res.writeHead(req.headers.authorization ? 403 : 401, { "X-Error-Code": "GatedRepo" }).end();
    }
    const found = lookup(repoType, repoId, decodeURIComponent(m[3]!));
    if (Array.isArray(found)) return void res.writeHead(found[0], { "X-Error-Code": found[1] }).end();
    const commit = found.commit;
    const file = found.files.get(name);
    if (!file) return void res.writeHead(404, { "X-Error-Code": "EntryNotFound", "X-Repo-Commit": commit }).end();
    if (file.lfs) {
      const linked = sim.wrongChecksum ? createHash("sha256").update("tampered").update(file.content).digest("hex") : file.etag;
      return void res
        .writeHead(302, {
          Location: `${cdnOrigin}/lfs/${file.etag}`,
          "X-Repo-Commit": commit,
          "X-Linked-Etag": `"${linked}"`,
          "X-Linked-Size": String(file.content.length),
          ETag: `"${createHash("sha1").update(name).digest("hex")}"`,
          ...sim.headerOverrides,
        })
        .end();
    }
    sendBody(req, res, name, file.content, { "X-Repo-Commit": commit, ETag: `"${file.etag}"`, ...sim.headerOverrides });
  }

  function authorized(req: IncomingMessage): boolean {
    return !sim.requireToken || req.headers.authorization === `Bearer ${sim.requireToken}`;
  }

  function sendBody(req: IncomingMessage, res: ServerResponse, name: string, content: Buffer, headers: Record<string, string>): void {
    let start = 0;
    let end = content.length - 1;
    let status = 200;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    if (range) {
      start = Number(range[1]);
      if (range[2]) end = Math.min(end, Number(range[2]));
      if (start >= content.length) return void res.writeHead(416, { "Content-Range": `bytes */${content.length}` }).end();
      status = 206;
      headers["Content-Range"] = `bytes ${start}-${end}/${content.length}`;
    }
    const body = content.subarray(start, end + 1);
    res.writeHead(status, { ...headers, "Content-Length": String(body.length), "Accept-Ranges": "bytes" });
    if (req.method === "HEAD") return void res.end();
    if (sim.cutOnce.delete(name)) {
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(body);
  }

  await Promise.all([listen(hub), listen(cdn)]);
  cdnOrigin = `http://127.0.0.1:${(cdn.address() as AddressInfo).port}`;
  hubOrigin = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`;
  return {
    url: hubOrigin,
    requests,
    sim,
    resetSim,
    commitOf,
    close: async () => {
      await Promise.all([stop(hub), stop(cdn)]);
    },
  };
}

function readRepo(dir: string, bySha: Map<string, { file: string; content: Buffer }>): Map<string, FileInfo> {
  const files = new Map<string, FileInfo>();
  for (const path of walk(dir)) {
    const name = relative(dir, path).split("\\").join("/");
    const content = readFileSync(path);
    const lfs = LFS_SUFFIXES.some((s) => name.endsWith(s));
    const etag = lfs ? createHash("sha256").update(content).digest("hex") : gitBlobId(content);
    files.set(name, { content, lfs, etag });
    if (lfs) bySha.set(etag, { file: name, content });
  }
  return files;
}

function gitBlobId(content: Buffer): string {
  return createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
}

/** The tree API's entries: every file and folder, or only the top level, in path order. */
function treeEntries(files: Map<string, FileInfo>, recursive: boolean): Record<string, unknown>[] {
  const entries = new Map<string, Record<string, unknown>>();
  for (const [path, file] of files) {
    const parts = path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      entries.set(dir, { type: "directory", oid: createHash("sha1").update(dir).digest("hex"), size: 0, path: dir });
    }
    const lfs = file.lfs ? { lfs: { oid: file.etag, size: file.content.length, pointerSize: 134 } } : {};
    entries.set(path, { type: "file", oid: gitBlobId(file.content), size: file.content.length, path, ...lfs });
  }
  return [...entries.values()].filter((e) => recursive || !String(e.path).includes("/")).sort((a, b) => (String(a.path) < String(b.path) ? -1 : 1));
}

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = join(dir, name);
      return statSync(p).isDirectory() ? walk(p) : [p];
    });
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
}

function stop(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

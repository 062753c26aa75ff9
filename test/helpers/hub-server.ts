import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join, relative } from "node:path";

// A stand-in for the Hugging Face hub on 127.0.0.1, serving local folders as repos:
//   HEAD/GET /{org}/{name}/resolve/{revision}/{file}   X-Repo-Commit, ETag, Content-Length; LFS-like files
//                                                      (.safetensors, .bin) answer 302 to the "CDN" with
//                                                      X-Linked-Etag (sha256) and X-Linked-Size, like the real hub
//   GET /api/models/{org}/{name}/revision/{revision}  {"sha", "siblings": [{"rfilename"}]}
//   GET /lfs/{sha256} on a second port                 the CDN: another origin, so credentials must not reach it
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
}

export interface HubServer {
  /** Endpoint to pass as `endpoint` / HF_ENDPOINT. */
  url: string;
  requests: RecordedRequest[];
  sim: HubSimulation;
  commitOf(repoId: string): string;
  close(): Promise<void>;
}

const LFS_SUFFIXES = [".safetensors", ".bin"];

interface FileInfo {
  content: Buffer;
  lfs: boolean;
  etag: string;
}

/** `repos` maps "org/name" to a local folder served as that repo's main branch. */
export async function startHubServer(repos: Record<string, string>): Promise<HubServer> {
  const requests: RecordedRequest[] = [];
  const sim: HubSimulation = { cutOnce: new Set(), wrongChecksum: false, stall: false, headerOverrides: {} };
  const commitOf = (repoId: string) => createHash("sha1").update(`commit of ${repoId}`).digest("hex");
  const byRepo = new Map<string, Map<string, FileInfo>>();
  const bySha = new Map<string, { file: string; content: Buffer }>();
  for (const [repoId, dir] of Object.entries(repos)) {
    const files = new Map<string, FileInfo>();
    for (const path of walk(dir)) {
      const name = relative(dir, path).split("\\").join("/");
      const content = readFileSync(path);
      const lfs = LFS_SUFFIXES.some((s) => name.endsWith(s));
      const etag = lfs
        ? createHash("sha256").update(content).digest("hex")
        : createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
      files.set(name, { content, lfs, etag });
      if (lfs) bySha.set(etag, { file: name, content });
    }
    byRepo.set(repoId, files);
  }

  let cdnOrigin = "";
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

  function handleHub(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://x");
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname);
    if (api) {
      const repoId = decodeURIComponent(api[1]!);
      const files = byRepo.get(repoId);
      if (!files) return void res.writeHead(404, { "X-Error-Code": "RepoNotFound" }).end();
      if (!authorized(req)) return void res.writeHead(401).end();
      const body = JSON.stringify({ id: repoId, sha: commitOf(repoId), siblings: [...files.keys()].map((rfilename) => ({ rfilename })) });
      return void res.writeHead(200, { "Content-Type": "application/json" }).end(body);
    }
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (!m) return void res.writeHead(404).end();
    if (sim.stall) return;
    if (sim.forceStatus) return void res.writeHead(sim.forceStatus).end();
    const repoId = m[1]!;
    const revision = decodeURIComponent(m[2]!);
    const name = m[3]!.split("/").map(decodeURIComponent).join("/");
    const files = byRepo.get(repoId);
    if (!files) return void res.writeHead(404, { "X-Error-Code": "RepoNotFound" }).end();
    if (!authorized(req)) return void res.writeHead(401, { "X-Error-Code": "GatedRepo" }).end();
    const commit = commitOf(repoId);
    if (revision !== "main" && revision !== commit) return void res.writeHead(404, { "X-Error-Code": "RevisionNotFound" }).end();
    const file = files.get(name);
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
  return {
    url: `http://127.0.0.1:${(hub.address() as AddressInfo).port}`,
    requests,
    sim,
    commitOf,
    close: async () => {
      await Promise.all([stop(hub), stop(cdn)]);
    },
  };
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

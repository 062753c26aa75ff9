import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { setTimeout as sleep } from "node:timers/promises";

// node:http rather than fetch: a socket idle timeout that also covers a body stalling mid-download, and redirects the
// caller handles itself (the hub's metadata headers are on the redirect response, not on the CDN's).

export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly url: string,
    message: string,
  ) {
    super(message);
    this.name = "HttpStatusError";
  }
}

/** The connection ended before the announced length; resumable. */
export class ShortBodyError extends Error {
  override name = "ShortBodyError";
}

export interface RequestOptions {
  method: "GET" | "HEAD";
  headers: Record<string, string>;
  timeoutMs: number;
}

/** Resolves with the response head; the body stays unread. Rejects on network errors and on silence > timeoutMs. */
export function request(url: URL, opts: RequestOptions): Promise<IncomingMessage> {
  const mod = url.protocol === "https:" ? https : url.protocol === "http:" ? http : undefined;
  if (!mod) return Promise.reject(new Error(`unsupported URL protocol: ${url.href}`));
  return new Promise((resolve, reject) => {
    const req = mod.request(url, { method: opts.method, headers: opts.headers }, resolve);
    req.setTimeout(opts.timeoutMs, () => {
      req.destroy(Object.assign(new Error(`no data from ${url.href} for ${opts.timeoutMs} ms`), { code: "ETIMEDOUT" }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Reads a whole (small) body, refusing more than `limit` bytes. */
export async function readBody(res: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) {
      res.destroy();
      throw new Error(`response larger than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

const RETRYABLE_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "ECONNABORTED", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH"]);

/** Errors worth another attempt: the network, a timeout, a body cut short, or a server-side status. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof HttpStatusError) return err.status >= 500 || err.status === 429;
  const code = (err as { code?: unknown } | null)?.code;
  return (typeof code === "string" && RETRYABLE_CODES.has(code)) || (err as Error)?.message === "aborted" || err instanceof ShortBodyError;
}

/** Runs `fn` up to 1 + retries times while it fails with a retryable error, backing off 0.2 s, 0.4 s, ... (max 2 s). */
export async function withRetries<T>(retries: number, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= retries || !isRetryable(err)) throw err;
      await sleep(Math.min(200 * 2 ** attempt, 2000));
    }
  }
}

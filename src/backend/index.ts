// Picks the backend once: the native addon when it loads, else TypeScript with one warning.
// FINETUNE_BACKEND=typescript forces the reference backend (tests use it to compare the two).
import type { Backend, FloatArray } from "./backend.js";
import { typescriptBackend } from "./typescript.js";
import { loadNativeBackend } from "./native.js";
import { warn } from "../warnings/index.js";

export type { Backend, FloatArray, GemmArgs, BatchedGemmArgs } from "./backend.js";
export { typescriptBackend } from "./typescript.js";

let active: Backend | null = null;
let nativeError: string | null = null;

function choose(): Backend {
  const wanted = process.env.FINETUNE_BACKEND;
  if (wanted === "typescript") return typescriptBackend;
  try {
    const native = loadNativeBackend();
    const threads = Number(process.env.FINETUNE_NUM_THREADS);
    if (Number.isInteger(threads) && threads > 0) native.setThreads(threads);
    return native;
  } catch (e) {
    nativeError = (e as Error).message;
    if (wanted === "native") throw e;
    warn(
      `finetune-ts: native backend unavailable (${nativeError}); using the TypeScript backend, which is ` +
      "10-100x slower. Install a C compiler and libopenblas (Debian: apt-get install -y build-essential " +
      "libopenblas-dev), then run `npm rebuild finetune-ts`.", "FINETUNE_NO_NATIVE");
    return typescriptBackend;
  }
}

/** The backend used for float32 work. */
export function backend(): Backend {
  return (active ??= choose());
}

/** Float64 buffers only exist in gradient checks; only the TypeScript backend handles them. */
export function backendFor(...arrays: (FloatArray | null)[]): Backend {
  for (const a of arrays) if (a instanceof Float64Array) return typescriptBackend;
  return backend();
}

export function setBackend(b: Backend | "native" | "typescript"): void {
  active = b === "typescript" ? typescriptBackend : b === "native" ? loadNativeBackend() : b;
}

export function nativeBackendError(): string | null {
  backend();
  return nativeError;
}

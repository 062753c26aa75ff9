// One self-describing file per fitted classifier: the weights as safetensors, and everything needed to
// rebuild the object (kind, options, classes) as JSON in the safetensors metadata. One file means one
// atomic write, so a reader never pairs new weights with old settings.
import { loadSafetensors, saveSafetensors } from "../io/safetensors.js";
import { toFloat32, toInt32, type RawTensor } from "../io/raw-tensor.js";
import { Tensor } from "../tensor/index.js";

const META_KEY = "finetune_ts";

export interface ClassifierFile<Meta> {
  meta: Meta;
  tensors: Map<string, Tensor>;
  classes: Int32Array;
}

export async function saveClassifier<Meta extends { kind: string }>(
  path: string, meta: Meta, tensors: Map<string, Tensor>, classes: Int32Array,
): Promise<void> {
  const raw = new Map<string, RawTensor>();
  for (const [name, t] of tensors) {
    raw.set(name, t.data instanceof Float64Array
      ? { dtype: "F64", shape: [...t.shape], data: t.data }
      : { dtype: "F32", shape: [...t.shape], data: t.toFloat32Array() });
  }
  raw.set("classes", { dtype: "I32", shape: [classes.length], data: classes });
  await saveSafetensors(path, raw, { [META_KEY]: JSON.stringify(meta) });
}

export async function loadClassifier<Meta extends { kind: string }>(path: string, kind: Meta["kind"]): Promise<ClassifierFile<Meta>> {
  const { tensors: raw, metadata } = await loadSafetensors(path);
  const json = metadata[META_KEY];
  const meta = json === undefined ? undefined : (JSON.parse(json) as Meta);
  if (meta?.kind !== kind) throw new Error(`${path}: not a saved ${kind} (found ${meta ? meta.kind : "no finetune_ts metadata"})`);
  const classes = raw.get("classes");
  if (!classes) throw new Error(`${path}: no "classes" tensor`);
  const tensors = new Map<string, Tensor>();
  for (const [name, t] of raw) {
    if (name !== "classes") tensors.set(name, new Tensor(t.dtype === "F64" ? (t.data as Float64Array) : toFloat32(t), t.shape));
  }
  return { meta, tensors, classes: toInt32(classes) };
}

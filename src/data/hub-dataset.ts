// Classification datasets from the Hugging Face hub. The data files of a dataset repo are found the way HF's `datasets`
// finds them (the card's `configs`, else its file-name conventions), downloaded through the hub cache and read with
// loadDataFiles. Repos without readable files (a loading script, archives) fall back to the hub's own Parquet
// conversion on the refs/convert/parquet branch.
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { HttpStatusError } from "../io/http.js";
import { listRepoTree, resolveModelFile, type HubOptions, type RepoTree } from "../io/hub.js";
import { loadDataFiles, type DataFilesBySplit, type LoadedSplit, type LoadOptions } from "./load.js";
import type { DatasetDict, SplitName } from "./types.js";

export interface HubDatasetOptions extends Omit<HubOptions, "repoType">, LoadOptions {
  /** The subset: one of the card's `configs`, or a top-level folder (as in the Parquet conversion). */
  config?: string;
  /** Default: each of train/validation/test the dataset has. "train" is required; a missing split is an error. */
  splits?: SplitName[];
}

export interface HubDataset extends DatasetDict<LoadedSplit> {
  labelNames: string[];
  /** What was read: the revision (refs/convert/parquet after the fallback), its commit, the config, the repo files. */
  source: { revision: string; commit: string; config: string; files: DatasetDict<string[]> };
}

type Card = Record<string, unknown>;

interface Found {
  revision: string;
  commit: string;
  config: string;
  /** Repo paths by split name, readable or not. */
  bySplit: Map<string, string[]>;
}

const CONVERTED = "refs/convert/parquet";
const SPLITS: SplitName[] = ["train", "validation", "test"];
// `datasets`' split keywords and the characters that may surround them in file and folder names.
const KEYWORDS: Record<SplitName, string[]> = {
  train: ["train", "training"],
  validation: ["validation", "valid", "dev", "val"],
  test: ["test", "testing", "eval", "evaluation"],
};
const SEP = "[-._ 0-9]";
const READABLE = /\.(parquet|jsonl|ndjson|json|csv|tsv|tab)$/i;
const NOT_DATA = new Set(["config.json", "dataset_info.json", "dataset_infos.json", "dataset_dict.json", "dummy_data.zip"]);

/**
 * The train/validation/test splits of a hub dataset, like loadDataFiles returns them. Label names come from
 * `labelNames`, else from the card's ClassLabel feature, else from the data. A dataset with only a train split can be
 * split by the caller (splitDataset).
 */
export async function loadHubDataset(id: string, opts: HubDatasetOptions = {}): Promise<HubDataset> {
  const hub = { ...opts, repoType: "dataset" as const };
  const revision = opts.revision ?? "main";
  const main = await listRepoTree(id, hub);
  const card = await readCard(id, main, hub);
  let found = findSplits(id, main, revision, card, opts.config);
  let noConversion = false;
  // The conversion mirrors the main branch only.
  if (revision === "main" && !someReadable(found.bySplit)) {
    const converted = await listRepoTree(id, { ...hub, revision: CONVERTED }).catch((err: unknown) => {
      if (err instanceof HttpStatusError && err.status === 404) return undefined;
      throw err;
    });
    if (converted) found = findSplits(id, converted, CONVERTED, card, opts.config);
    noConversion = !converted;
  }
  const files = pickFiles(id, found, opts.splits, noConversion);
  const local = {} as DataFilesBySplit;
  for (const [split, paths] of Object.entries(files) as [SplitName, string[]][]) {
    const downloaded: string[] = [];
    for (const path of paths) downloaded.push(await resolveModelFile(id, path, { ...hub, revision: found.commit }));
    local[split] = downloaded;
  }
  const labelColumn = opts.labelColumn ?? "label";
  const labelNames = opts.labelNames ?? (typeof labelColumn === "string" ? cardLabelNames(id, card, found.config, labelColumn) : undefined);
  const loaded = await loadDataFiles(local, { ...opts, labelNames });
  return { ...loaded, labelNames: loaded.train.labelNames, source: { revision: found.revision, commit: found.commit, config: found.config, files } };
}

/** The conversion has no card of its own but one folder per config; elsewhere the card's configs come first. */
function findSplits(id: string, tree: RepoTree, revision: string, card: Card, config: string | undefined): Found {
  // Sorted as `datasets` sorts matches, so that shards concatenate in order whatever order the listing came in.
  const paths = tree.files.map((f) => f.path).filter(isData).sort();
  const at = { revision, commit: tree.commit };
  const configs = Array.isArray(card.configs) ? card.configs.filter(isObject) : [];
  if (revision !== CONVERTED && configs.length > 0) {
    const chosen = chooseConfig(id, configs, config);
    return { ...at, config: configName(chosen), bySplit: configSplits(id, paths, chosen) };
  }
  if (revision !== CONVERTED && config === undefined) return { ...at, config: "default", bySplit: conventionalSplits(paths, "") };
  const folder = chooseFolder(id, revision, paths, config);
  return { ...at, config: folder, bySplit: conventionalSplits(paths, `${folder}/`) };
}

/** Files by split, as `datasets` finds them without a config: sharded names, then split folders, then file names. */
function conventionalSplits(paths: string[], base: string): Map<string, string[]> {
  const inBase = paths.filter((p) => p.startsWith(base)).map((p) => p.slice(base.length));
  const bySplit = new Map<string, string[]>();
  for (const p of inBase) {
    const split = /^data\/(\w+(?:\.\w+)*)-\d{5}-of-\d{5}[^/]*\.[^/]*$/.exec(p)?.[1];
    if (split !== undefined) add(bySplit, canonicalSplit(split), [base + p]);
  }
  if (bySplit.size > 0) return bySplit;
  const inFolder = (kw: string) => {
    const re = new RegExp(`(^|${SEP})${kw}(${SEP}|$)`);
    return (p: string) => p.split("/").slice(0, -1).some((dir) => re.test(dir));
  };
  const inName = (kw: string) => {
    const re = new RegExp(`(^|${SEP})${kw}${SEP}`);
    return (p: string) => re.test(p.slice(p.lastIndexOf("/") + 1));
  };
  for (const matcher of [inFolder, inName]) {
    for (const split of SPLITS) {
      const tests = KEYWORDS[split].map(matcher);
      add(bySplit, split, inBase.filter((p) => tests.some((t) => t(p))).map((p) => base + p));
    }
    if (bySplit.size > 0) return bySplit;
  }
  add(bySplit, "train", inBase.map((p) => base + p));
  return bySplit;
}

/** Files by split from a card config: `data_files` patterns (relative to `data_dir`), or conventions in `data_dir`. */
function configSplits(id: string, paths: string[], config: Card): Map<string, string[]> {
  const dir = typeof config.data_dir === "string" ? `${config.data_dir.replace(/\/+$/, "")}/` : "";
  const dataFiles = config.data_files;
  if (dataFiles === undefined) return conventionalSplits(paths, dir);
  const isPatterns = (v: unknown) => typeof v === "string" || (Array.isArray(v) && v.every((x) => typeof x === "string"));
  const entries = isPatterns(dataFiles) ? [{ split: "train", path: dataFiles }] : Array.isArray(dataFiles) ? dataFiles : [];
  const bySplit = new Map<string, string[]>();
  for (const entry of entries) {
    if (!isObject(entry) || typeof entry.split !== "string" || !isPatterns(entry.path)) {
      throw new Error(`README.md of dataset ${id}: data_files of config ${configName(config)} must be patterns or a list of {split, path}`);
    }
    const patterns = [entry.path as string | string[]].flat().map((p) => globRegExp(dir + p));
    add(bySplit, canonicalSplit(entry.split), paths.filter((p) => patterns.some((re) => re.test(p))));
  }
  return bySplit;
}

function chooseConfig(id: string, configs: Card[], wanted: string | undefined): Card {
  const names = configs.map(configName);
  if (wanted !== undefined) {
    const i = names.indexOf(wanted);
    if (i < 0) throw new Error(`dataset ${id} has no config "${wanted}"; its configs: ${names.join(", ")}`);
    return configs[i]!;
  }
  const chosen = configs.find((c) => c.default === true) ?? configs.find((c) => configName(c) === "default") ?? (configs.length === 1 ? configs[0] : undefined);
  if (!chosen) throw new Error(`dataset ${id} has several configs (${names.join(", ")}); pass config to choose one`);
  return chosen;
}

/** A config as a top-level folder: the wanted one, else the only one, else "default". */
function chooseFolder(id: string, revision: string, paths: string[], wanted: string | undefined): string {
  const folders = [...new Set(paths.filter((p) => p.includes("/")).map((p) => p.slice(0, p.indexOf("/"))))].sort();
  const chosen = wanted ?? (folders.length === 1 ? folders[0] : folders.includes("default") ? "default" : undefined);
  const where = `dataset ${id} at revision ${revision}`;
  if (chosen === undefined) throw new Error(`${where} has several configs (${folders.join(", ")}); pass config to choose one`);
  if (!folders.includes(chosen)) throw new Error(`${where} has no config "${chosen}"; its folders: ${folders.join(", ") || "none"}`);
  return chosen;
}

/** The readable files of each split to load, or an error naming what the repo does have. */
function pickFiles(id: string, found: Found, splits: SplitName[] | undefined, noConversion: boolean): DatasetDict<string[]> {
  const where = `dataset ${id} at revision ${found.revision}${found.config === "default" ? "" : ` (config ${found.config})`}`;
  const why = (problem: string) => new Error(`${where}: ${problem}${noConversion ? `; it has no Parquet conversion (${CONVERTED}) either` : ""}`);
  const wanted = splits ?? SPLITS.filter((s) => found.bySplit.has(s));
  if (!wanted.includes("train")) throw why(`no train split to load; ${describe(found.bySplit)}`);
  const files: Partial<DatasetDict<string[]>> = {};
  for (const split of wanted) {
    const all = found.bySplit.get(split);
    if (!all) throw why(`no data files for split "${split}"; ${describe(found.bySplit)}`);
    files[split] = all.filter((p) => READABLE.test(p));
    if (files[split].length === 0) throw why(`unsupported file format for split "${split}" (${list(all)}); readable: .parquet, .jsonl, .json, .csv, .tsv`);
  }
  return files as DatasetDict<string[]>;
}

function describe(bySplit: Map<string, string[]>): string {
  if (bySplit.size === 0) return "it has no data files";
  return `its splits: ${[...bySplit].map(([split, files]) => `${split} (${list(files)})`).join("; ")}`;
}

function list(files: string[]): string {
  return files.slice(0, 3).join(", ") + (files.length > 3 ? `, ... ${files.length} files` : "");
}

/** The card's YAML front matter (README.md), or {} when there is none. */
async function readCard(id: string, tree: RepoTree, hub: HubOptions): Promise<Card> {
  if (!tree.files.some((f) => f.path === "README.md")) return {};
  const text = await readFile(await resolveModelFile(id, "README.md", { ...hub, revision: tree.commit }), "utf8");
  const yaml = /^---\r?\n([\s\S]*?)\r?\n---[ \t]*(\r?\n|$)/.exec(text)?.[1];
  if (yaml === undefined) return {};
  try {
    const data: unknown = parseYaml(yaml);
    return isObject(data) ? data : {};
  } catch (err) {
    throw new Error(`README.md of dataset ${id}: invalid YAML metadata: ${(err as Error).message}`);
  }
}

/** ClassLabel names of `column` from the card's dataset_info (per config, or the only one). */
function cardLabelNames(id: string, card: Card, config: string, column: string): string[] | undefined {
  const infos = [card.dataset_info].flat().filter(isObject);
  const info = infos.find((i) => (i.config_name ?? "default") === config) ?? (infos.length === 1 ? infos[0] : undefined);
  const feature = (Array.isArray(info?.features) ? info.features : []).find((f: unknown) => isObject(f) && f.name === column);
  const classLabel = isObject(feature) ? (isObject(feature.dtype) ? feature.dtype.class_label : feature.class_label) : undefined;
  const names = isObject(classLabel) ? classLabel.names : undefined;
  if (Array.isArray(names)) return names.map(String);
  if (!isObject(names)) return undefined;
  const byId = Object.entries(names).sort(([a], [b]) => Number(a) - Number(b));
  if (!byId.every(([key], i) => key === String(i))) {
    throw new Error(`README.md of dataset ${id}: the class_label names of "${column}" are not numbered 0..${byId.length - 1}`);
  }
  return byId.map(([, name]) => String(name));
}

/** fsspec glob as `datasets` uses it: "*" and "?" stay within a folder, "**" crosses folders, "[...]" is a class. */
function globRegExp(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    const close = c === "[" ? pattern.indexOf("]", i + 2) : -1;
    if (pattern.startsWith("**/", i)) {
      re += "(?:[^/]*/)*";
      i += 2;
    } else if (pattern.startsWith("**", i)) {
      re += ".*";
      i += 1;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (close > 0) {
      const body = pattern.slice(i + 1, close).replace(/\\/g, "\\\\");
      re += `[${body.startsWith("!") ? `^${body.slice(1)}` : body}]`;
      i = close;
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** Not data, as in `datasets`: hidden files and folders, metadata, docs, loading scripts. */
function isData(path: string): boolean {
  const segments = path.split("/");
  const name = segments[segments.length - 1]!;
  return !segments.some((s) => s.startsWith(".") || s.startsWith("__")) && !NOT_DATA.has(name) && !/\.(md|py)$/i.test(name);
}

function someReadable(bySplit: Map<string, string[]>): boolean {
  return [...bySplit.values()].some((files) => files.some((p) => READABLE.test(p)));
}

/** Split names that are keywords ("dev", "valid", "training", ...) name the standard split. */
function canonicalSplit(name: string): string {
  return SPLITS.find((s) => KEYWORDS[s].includes(name)) ?? name;
}

function configName(config: Card): string {
  return typeof config.config_name === "string" ? config.config_name : "default";
}

function add(bySplit: Map<string, string[]>, split: string, files: string[]): void {
  if (files.length > 0) bySplit.set(split, [...(bySplit.get(split) ?? []), ...files]);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

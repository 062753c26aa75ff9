// PEFT configs: camelCase fields in TypeScript, PEFT's snake_case keys on disk (adapter_config.json).
// Every method's config extends PeftConfig; the registry maps peft_type to the class for loading.

export type TaskType = "SEQ_CLS" | "CAUSAL_LM" | "FEATURE_EXTRACTION";
export type PeftType = "LORA" | "PROMPT_TUNING" | "P_TUNING" | "PREFIX_TUNING" | "IA3" | "BOTTLENECK_ADAPTER";

export interface PeftConfigFields {
  taskType?: TaskType;
  baseModelNameOrPath?: string | null;
  revision?: string | null;
  inferenceMode?: boolean;
  modulesToSave?: string[] | null;
}

export const camelToSnake = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
export const snakeToCamel = (s: string): string => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** The peft_version written to adapter_config.json: the PEFT release whose format we follow. */
export const PEFT_FORMAT_VERSION = "0.20.0";

export abstract class PeftConfig {
  abstract readonly peftType: PeftType;
  taskType: TaskType = "SEQ_CLS";
  baseModelNameOrPath: string | null = null;
  revision: string | null = null;
  inferenceMode = false;
  modulesToSave: string[] | null = null;
  autoMapping: Record<string, string> | null = null;

  get isPromptLearning(): boolean {
    return false;
  }

  /** Copies known fields; an unknown name is a typo in the caller's options. */
  protected assign(fields: object): void {
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) continue;
      if (!(k in this)) throw new Error(`${this.constructor.name}: unknown option "${k}"`);
      (this as Record<string, unknown>)[k] = v;
    }
  }

  /** PEFT's to_dict(): snake_case keys, sorted, with peft_type and peft_version. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { peft_type: this.peftType, peft_version: PEFT_FORMAT_VERSION };
    for (const [k, v] of Object.entries(this)) out[camelToSnake(k)] = v instanceof Set ? [...v] : v;
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}

type ConfigClass = new (fields: Record<string, unknown>) => PeftConfig;
const registry = new Map<string, ConfigClass>();

export function registerPeftConfig(peftType: PeftType, cls: ConfigClass): void {
  registry.set(peftType, cls);
}

/** Parses adapter_config.json content. Keys we do not model are ignored, as PEFT ignores keys from
 *  other versions; values of the wrong type are rejected with the field's name. */
export function peftConfigFromJson(json: unknown, source = "adapter_config.json"): PeftConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new Error(`${source}: expected a JSON object`);
  const obj = json as Record<string, unknown>;
  const type = obj.peft_type;
  const cls = typeof type === "string" ? registry.get(type) : undefined;
  if (!cls) throw new Error(`${source}: unsupported peft_type ${JSON.stringify(type)}; supported: ${[...registry.keys()].join(", ")}`);
  const probe = new cls({});
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const name = snakeToCamel(k);
    if (name === "peftType" || name === "peftVersion" || !(name in probe)) continue;
    const expected = (probe as unknown as Record<string, unknown>)[name];
    if (typeof expected === "number" && typeof v !== "number")
      throw new Error(`${source}: field "${k}" should be a number, got ${JSON.stringify(v)}`);
    if (name === "modulesToSave" && v !== null && !(Array.isArray(v) && v.every((m) => typeof m === "string")))
      throw new Error(`${source}: field "${k}" should be a list of module names, got ${JSON.stringify(v)}`);
    fields[name] = v;
  }
  try {
    return new cls(fields);
  } catch (e) {
    // The config classes name the field ("LoraConfig: r must be ..."); the file is what the user needs to find.
    throw new Error(`${source}: ${(e as Error).message}`, { cause: e });
  }
}

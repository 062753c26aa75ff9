// PEFT configs: camelCase fields in TypeScript, PEFT's snake_case keys on disk (adapter_config.json). Each config
// class declares its fields once, as a schema (the one model configs use, src/models/config.ts: kind, default,
// bounds); the same schema checks configs built in code and adapter_config.json, and writes the file back.
import { camelToRaw, parseSchema, type FromSchema, type Schema } from "../models/config.js";
import { peftMethod, peftMethods, peftTypeOf } from "./registry.js";

/** PEFT's TaskType values; PEFT refuses any other. */
export const TASK_TYPES = ["SEQ_CLS", "SEQ_2_SEQ_LM", "CAUSAL_LM", "TOKEN_CLS", "QUESTION_ANS", "FEATURE_EXTRACTION"] as const;
export type TaskType = (typeof TASK_TYPES)[number];
/** adapter_config.json's peft_type: PEFT's name for a method, given when the method is registered. */
export type PeftType = string;

/** A schema's fields as a config holds them: writable, since a PeftModel fills in what it derives from the model. */
export type SchemaValues<S extends Schema> = { -readonly [K in keyof S]: FromSchema<S>[K] };
/** What a config class's constructor takes: any of its fields, the rest keep their defaults. */
export type ConfigFields<S extends Schema> = Partial<SchemaValues<S>>;

/** The fields of every PEFT config (PEFT's PeftConfigMixin and PeftConfig). */
export const PEFT_FIELDS = {
  taskType: { kind: "string", oneOf: TASK_TYPES, default: "SEQ_CLS", nullable: true },
  baseModelNameOrPath: { kind: "string", default: null, nullable: true },
  revision: { kind: "string", default: null, nullable: true },
  inferenceMode: { kind: "bool", default: false },
  modulesToSave: { kind: "string[]", default: null, nullable: true },
  autoMapping: { kind: "object", default: null, nullable: true },
} as const satisfies Schema;

export type PeftConfigFields = ConfigFields<typeof PEFT_FIELDS>;

/** The peft_version written to adapter_config.json: the PEFT release whose format we follow. */
export const PEFT_FORMAT_VERSION = "0.20.0";

/** A config class as the registry and the file reader see it. */
export interface PeftConfigClass<C extends PeftConfig = PeftConfig> {
  new (fields?: object): C;
  readonly fields: Schema;
  readonly name: string;
}

export interface PeftConfig extends SchemaValues<typeof PEFT_FIELDS> {}

export abstract class PeftConfig {
  /** Every field of the class, with its kind, default and bounds: a subclass spreads its parent's and adds its own. */
  static readonly fields: Schema = PEFT_FIELDS;

  /** Unknown names are a typo in the caller's options; values are checked against the schema, errors naming the
   *  class and the field (adapter_config.json is checked the same way, naming the file: peftConfigFromJson). */
  constructor(fields: object = {}) {
    const cls = new.target as unknown as PeftConfigClass;
    let raw;
    try {
      raw = camelToRaw(fields, cls.fields);
    } catch (e) {
      throw new Error(`${cls.name}: ${(e as Error).message}`);
    }
    Object.assign(this, parseSchema(raw, cls.name, cls.fields));
  }

  /** The registered method's peft_type. */
  get peftType(): PeftType {
    return peftTypeOf(this);
  }

  get isPromptLearning(): boolean {
    return false;
  }

  /** PEFT's to_dict(): snake_case keys, sorted, with peft_type and peft_version. */
  toJSON(): Record<string, unknown> {
    const fields = (this.constructor as PeftConfigClass).fields;
    const values = Object.fromEntries(Object.keys(fields).map((name) => [name, (this as unknown as Record<string, never>)[name]]));
    const out: Record<string, unknown> = { ...camelToRaw(values, fields), peft_type: this.peftType, peft_version: PEFT_FORMAT_VERSION };
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}

/** Parses adapter_config.json content. Keys the config does not model are ignored, as PEFT ignores keys from other
 *  versions; a value of the wrong kind or out of bounds is an error naming the file and the field. */
export function peftConfigFromJson(json: unknown, source = "adapter_config.json"): PeftConfig {
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new Error(`${source}: expected a JSON object`);
  const raw = json as Record<string, unknown>;
  const method = typeof raw.peft_type === "string" ? peftMethod(raw.peft_type) : undefined;
  if (!method) throw new Error(`${source}: unsupported peft_type ${JSON.stringify(raw.peft_type)}; supported: ${peftMethods().map((m) => m.peftType).join(", ")}`);
  const cls = method.config;
  const fields = parseSchema(raw, source, cls.fields);
  try {
    return new cls(fields);
  } catch (e) {
    // The checks across fields name them ("IA3Config: feedforward_modules should be ..."); the user needs the file.
    throw new Error(`${source}: ${(e as Error).message}`, { cause: e });
  }
}

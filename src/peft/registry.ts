// The PEFT methods, each registered once, by the index.ts of its folder: its peft_type, config class, tuner,
// whether it folds into the base weights, and how the command line offers it. Generic code (reading
// adapter_config.json, PeftModel, the CLI's method table, its flags and help, merge, export and compare) reads
// this registry and never names a method. A method defined outside this package registers the same way, before
// the CLI's main() runs in the same process (docs/extending.md).
import type { PeftConfig, PeftConfigClass, PeftType } from "./config.js";
import type { InjectingTuner, PromptLearningConfig, PromptTuner, TunerOptions } from "./tuner.js";

/** What the command line knows when it sets a method up. */
export interface PeftCliContext {
  task: "seq-cls" | "causal-lm";
  /** Recorded in adapter_config.json as base_model_name_or_path. */
  baseModel: string;
  /** The base model's tokenizer (prompt tuning's init text becomes token ids). */
  encode(text: string): Promise<number[]>;
}

/** What a flag's value adds to the method's set-up. */
export interface PeftCliSetup {
  fields?: Record<string, unknown>;
  tunerOptions?: TunerOptions;
}

/** A command-line option of a method: `--kebab-case` of its key in `flags`. Methods that share an option (LoRA and
 *  IA3 take --target-modules) share the object, so the option means the same for each. */
export interface PeftCliFlag {
  kind: "int" | "float" | "string" | "bool" | "list";
  /** Help after the names of the methods that take it, e.g. "rank"; " (default N)" follows for numeric and switch
   *  defaults. */
  help: string;
  /** The value's name in help ("N", "TEXT"). */
  arg?: string;
  min?: number;
  max?: number;
  /** The config field the value sets; default: the flag's key. */
  field?: string;
  /** Instead of `field`: for a value that sets several fields or needs the tokenizer. */
  apply?: (value: never, ctx: PeftCliContext) => Promise<PeftCliSetup>;
}

export interface PeftMethodCli<C extends PeftConfig> {
  /** The --method name. */
  name: string;
  /** The method in reports, charts and messages ("LoRA"). */
  label: string;
  /** Learning rate for a base-sized model (hidden size 768) when --lr is not given: the usual order of magnitude for
   *  the method, from its paper or PEFT's examples; a function of the run's options (its defaults and the flags
   *  given) when an option changes what trains. */
  baseLr: number | ((options: Record<string, unknown>) => number);
  /** The rate scales with the model's width (src/cli/methods.ts, defaultLr): the method trains weights inside the
   *  network, not inputs. */
  widthScaled: boolean;
  /** The options it takes, in help order. */
  flags: Record<string, PeftCliFlag>;
  /** Config fields the command line sets where the config's own default is not the usual choice for a run. */
  defaults?: Partial<Omit<C, "peftType" | "isPromptLearning" | "toJSON">>;
  /** In `compare`'s default set of methods; false gives compare a --<name> switch that adds it instead. */
  compareByDefault?: boolean;
}

export interface PeftMethod<C extends PeftConfig = PeftConfig> {
  /** PEFT's name for the method in adapter_config.json. */
  peftType: PeftType;
  config: PeftConfigClass<C>;
  tuner: InjectingTuner<C> | (C extends PromptLearningConfig ? PromptTuner<C> : never);
  /** Whether its weights fold into the layers it wraps (merge_and_unload, `finetune merge`, GGUF export). */
  mergeable: boolean;
  /** Left out: the method is for the library only. */
  cli?: PeftMethodCli<C>;
}

const byType = new Map<PeftType, PeftMethod>();
const byClass = new Map<PeftConfigClass, PeftMethod>();

export function registerPeftMethod<C extends PeftConfig>(method: PeftMethod<C>): void {
  const m = method as unknown as PeftMethod;
  const name = m.cli?.name;
  if (byType.has(m.peftType)) throw new Error(`registerPeftMethod: peft_type ${m.peftType} is already registered`);
  if (byClass.has(m.config)) throw new Error(`registerPeftMethod: ${m.config.name} is already the config of ${byClass.get(m.config)!.peftType}`);
  if (name !== undefined && peftMethods().some((other) => other.cli?.name === name)) throw new Error(`registerPeftMethod: the method name "${name}" is taken`);
  byType.set(m.peftType, m);
  byClass.set(m.config, m);
}

/** Every registered method, in registration order (the CLI lists them so). */
export function peftMethods(): PeftMethod[] {
  return [...byType.values()];
}

export function peftMethod(peftType: PeftType): PeftMethod | undefined {
  return byType.get(peftType);
}

/** The method a config belongs to. */
export function methodOf(config: PeftConfig): PeftMethod {
  const m = byClass.get(config.constructor as PeftConfigClass);
  if (!m) throw new Error(`${config.constructor.name} is not the config of a registered PEFT method (registerPeftMethod)`);
  return m;
}

export function peftTypeOf(config: PeftConfig): PeftType {
  return methodOf(config).peftType;
}

export function tunerFor(config: PeftConfig): InjectingTuner | PromptTuner {
  return methodOf(config).tuner as InjectingTuner | PromptTuner;
}

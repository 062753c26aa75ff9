// PEFT's ModulesToSaveWrapper: a frozen original and one trainable copy per adapter (e.g. the
// classifier head of a SEQ_CLS model), so adapters can each carry their own head.
import { Module, ModuleDict } from "../nn/index.js";

type Callable = Module & { forward(...args: unknown[]): unknown };

export class ModulesToSaveWrapper extends Module {
  readonly originalModule: Callable;
  readonly copies: ModuleDict<Callable>;
  activeAdapter: string | null = null;

  constructor(original: Module) {
    super();
    this.originalModule = this.addModule("original_module", original as Callable);
    this.copies = this.addModule("modules_to_save", new ModuleDict<Callable>());
    original.requiresGrad(false);
  }

  addAdapter(name: string): void {
    const copy = this.originalModule.clone();
    copy.requiresGrad(true);
    this.copies.set(name, copy);
    this.activeAdapter = name;
  }

  forward(...args: unknown[]): unknown {
    const copy = this.activeAdapter === null ? undefined : this.copies.get(this.activeAdapter);
    return (copy ?? this.originalModule).forward(...args);
  }
}

/** PEFT's rule, a plain suffix test: "pre_classifier" matches "classifier" too. */
export function matchesModulesToSave(moduleName: string, names: readonly string[]): boolean {
  return names.some((n) => moduleName.endsWith(n));
}

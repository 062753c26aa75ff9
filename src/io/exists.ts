import { stat } from "node:fs/promises";

/** True if the path exists, following symlinks (a dangling link counts as missing). */
export function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

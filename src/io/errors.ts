/** A file that cannot be read as the format it claims; the message always starts with the file path. */
export class FileFormatError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = "FileFormatError";
  }
}

/** What failed file-system calls mean to a person; Node's own messages name the system call, and for a write
 *  (ENOSPC) not even the file. */
const FS_PROBLEMS: Record<string, string> = {
  EACCES: "permission denied", EPERM: "permission denied", EROFS: "the file system is read-only", ENOSPC: "no space left on the device",
  EDQUOT: "the disk quota is used up", ENOTDIR: "part of the path is a file, not a folder", ENOENT: "no such file or folder",
  EISDIR: "it is a folder", EMFILE: "too many open files", ENAMETOOLONG: "the name is too long",
};

/** A file-system error as "<path>: <what went wrong> (<doing what>)", or the error itself when it is of another kind. */
export function fileSystemError(e: unknown, path: string, doing: string): unknown {
  const problem = FS_PROBLEMS[(e as NodeJS.ErrnoException)?.code ?? ""];
  return problem ? new Error(`${path}: ${problem} (${doing})`, { cause: e }) : e;
}

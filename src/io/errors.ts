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

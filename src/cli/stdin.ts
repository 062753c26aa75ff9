// Texts piped into a command, one per line. A terminal on stdin means nothing was piped: reading it
// would wait for typing, so it counts as no input.
export async function readStdinLines(): Promise<string[]> {
  if (process.stdin.isTTY) return [];
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8").split(/\r?\n/).filter((l) => l.trim() !== "");
}

// The readable text of a raw RFC 822 message: headers dropped, MIME parts walked (text/plain preferred over
// text/html, attachments skipped), quoted-printable and base64 text decoded, HTML reduced to its text.
// Deliberately simple: messages this does not understand give less text, never an exception.

interface Part {
  headers: string;
  body: string;
}

const MAX_DEPTH = 5;

export function messageText(raw: string): string {
  return collapse(partText(splitPart(raw.replace(/\r\n?/g, "\n")), 0));
}

function splitPart(text: string): Part {
  const cut = text.indexOf("\n\n");
  return cut < 0 ? { headers: text, body: "" } : { headers: text.slice(0, cut), body: text.slice(cut + 2) };
}

function header(headers: string, name: string): string {
  // Folded header lines continue with leading whitespace.
  const m = new RegExp(`^${name}:[ \\t]*((?:.*)(?:\\n[ \\t].*)*)`, "im").exec(headers);
  return m ? m[1].replace(/\n[ \t]+/g, " ").trim() : "";
}

function partText(part: Part, depth: number): string {
  const type = header(part.headers, "content-type").toLowerCase();
  const mime = type.split(";")[0].trim() || "text/plain";
  if (mime.startsWith("multipart/")) {
    const boundary = /boundary="?([^";]+)"?/i.exec(header(part.headers, "content-type"))?.[1];
    if (!boundary || depth >= MAX_DEPTH) return "";
    const parts = multipartParts(part.body, boundary).map(splitPart);
    if (mime === "multipart/alternative") {
      const plain = parts.find((p) => contentType(p) === "text/plain") ?? parts.find((p) => contentType(p) === "text/html") ?? parts[0];
      return plain ? partText(plain, depth + 1) : "";
    }
    return parts.map((p) => partText(p, depth + 1)).filter((t) => t.trim()).join("\n");
  }
  if (mime === "message/rfc822") return depth >= MAX_DEPTH ? "" : partText(splitPart(part.body), depth + 1);
  if (mime !== "text/plain" && mime !== "text/html") return "";
  if (/attachment/i.test(header(part.headers, "content-disposition"))) return "";
  const body = decodeBody(part.body, header(part.headers, "content-transfer-encoding").toLowerCase());
  return mime === "text/html" || looksLikeHtml(body) ? htmlText(body) : body;
}

/** Many spam mails send HTML labelled text/plain; a few tags quoted in a discussion do not count. */
function looksLikeHtml(body: string): boolean {
  return /<(html|body|meta|table|font|div|center|br|p)\b[^>]*>/i.test(body) && (body.match(/<\/?[a-z][^>]*>/gi)?.length ?? 0) >= 5;
}

function contentType(p: Part): string {
  return header(p.headers, "content-type").toLowerCase().split(";")[0].trim() || "text/plain";
}

function multipartParts(body: string, boundary: string): string[] {
  const delim = `--${boundary}`;
  const out: string[] = [];
  const chunks = body.split(delim);
  // chunks[0] is the preamble; a chunk starting with "--" is the epilogue after the closing delimiter.
  for (const chunk of chunks.slice(1)) {
    if (chunk.startsWith("--")) break;
    out.push(chunk.replace(/^[ \t]*\n/, ""));
  }
  return out;
}

function decodeBody(body: string, encoding: string): string {
  if (encoding === "quoted-printable") {
    const bytes = body.replace(/=\n/g, "").replace(/=([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    return Buffer.from(bytes, "latin1").toString("utf8");
  }
  if (encoding === "base64") return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
  return body;
}

const ENTITIES: Record<string, string> = { nbsp: " ", amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", copy: "©", reg: "®" };

export function htmlText(html: string): string {
  return html
    .replace(/<!--[\s\S]*?-->/g, " ")
    .replace(/<(script|style|head)\b[\s\S]*?<\/\1\s*>/gi, " ")
    .replace(/<(br|p|div|tr|li|h[1-6])\b[^>]*>/gi, "\n")
    .replace(/<[^>]*>/g, " ")
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
      if (e[0] !== "#") return ENTITIES[e.toLowerCase()] ?? m;
      const code = e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return code > 0 && code < 0x110000 ? String.fromCodePoint(code) : " ";
    });
}

/** Trims each line, collapses runs of spaces and of blank lines, and drops lines that are encoded noise
 *  (long unbroken runs such as undecoded base64 or uuencode). */
function collapse(text: string): string {
  return text
    .split("\n")
    .map((l) => l.replace(/[ \t\u00a0]+/g, " ").trim())
    .filter((l) => !/^\S{60,}$/.test(l) || /^https?:\/\//.test(l))
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

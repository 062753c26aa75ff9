import assert from "node:assert/strict";
import { test } from "node:test";
import { htmlText, messageText } from "../../src/bundled/email.js";

test("headers are dropped, folded ones included; the body is kept", () => {
  const raw = "From: a@b.c\r\nSubject: hello\r\n  continued subject\r\nReceived: from x\r\n\r\nHi Bob,\r\n\r\nsee you at  noon.\r\n";
  assert.equal(messageText(raw), "Hi Bob,\n\nsee you at noon.");
});

test("quoted-printable and base64 text parts are decoded", () => {
  const qp = "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nCaf=C3=A9 au lait =\nis 3=3D3.\n";
  assert.equal(messageText(qp), "Café au lait is 3=3.");
  const b64 = `Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n${Buffer.from("Win a prize now!").toString("base64")}\n`;
  assert.equal(messageText(b64), "Win a prize now!");
});

test("multipart/alternative prefers text/plain; attachments and non-text parts are skipped", () => {
  const raw = [
    'Content-Type: multipart/mixed; boundary="outer"', "", "preamble",
    "--outer", 'Content-Type: multipart/alternative; boundary="inner"', "",
    "--inner", "Content-Type: text/html", "", "<p>HTML version</p>",
    "--inner", "Content-Type: text/plain", "", "Plain version",
    "--inner--",
    "--outer", "Content-Type: application/octet-stream", "Content-Transfer-Encoding: base64", "", "AAAAAAAA",
    "--outer", "Content-Type: text/plain", "Content-Disposition: attachment; filename=a.txt", "", "attached",
    "--outer--", "epilogue",
  ].join("\n");
  assert.equal(messageText(raw), "Plain version");
});

test("HTML is reduced to its text: scripts, styles and comments dropped, entities decoded", () => {
  const html = "<html><head><style>p{}</style></head><body><!-- x --><p>Fish &amp; chips&nbsp;for &#163;5</p><script>alert(1)</script><br>Bye</body></html>";
  assert.equal(htmlText(html).replace(/\s+/g, " ").trim(), "Fish & chips for £5 Bye");
  assert.equal(messageText(`Content-Type: text/html\n\n${html}`), "Fish & chips for £5\nBye");
});

test("long unbroken runs (undecoded base64 or uuencode) are dropped as noise; URLs are kept", () => {
  const noise = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODk=";
  const url = "http://example.com/a/very/long/path/that/goes/on/and/on/for/more/than/sixty/chars";
  assert.equal(messageText(`Subject: x\n\nhello\n${noise}\n${url}\n`), `hello\n${url}`);
});

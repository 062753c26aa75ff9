// SVG to PNG with resvg. resvg draws no text at all when it finds no font, which would silently give a
// chart without labels; so a font file is looked for explicitly (besides the system fonts), and a test
// render of a word proves text actually comes out. The caller warns when it does not.
import { readdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { Resvg, type ResvgRenderOptions } from "@resvg/resvg-js";

/** Preferred fonts first (the chart's font-family names them); any other .ttf/.otf will do. */
const PREFERRED = ["DejaVuSans.ttf", "LiberationSans-Regular.ttf", "Arial.ttf", "arial.ttf", "Helvetica.ttc", "NotoSans-Regular.ttf"];
const FONT_DIRS = [
  "/usr/share/fonts", "/usr/local/share/fonts", join(homedir(), ".fonts"), join(homedir(), ".local/share/fonts"),
  "/Library/Fonts", "/System/Library/Fonts", "C:\\Windows\\Fonts",
];

export interface PngResult {
  png: Buffer;
  width: number;
  height: number;
  /** The font file given to resvg, or null when only system fonts (if any) were available. */
  fontFile: string | null;
  /** Whether a test word rendered with these fonts produced any pixels. */
  hasText: boolean;
}

export function findFontFile(dirs: string[] = FONT_DIRS): string | null {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    let names: string[];
    try { names = readdirSync(dir); } catch { return; }
    for (const name of names) {
      const path = join(dir, name);
      if (/\.(ttf|otf|ttc)$/i.test(name)) found.push(path);
      else if (depth < 4 && isDir(path)) walk(path, depth + 1);
    }
  };
  for (const d of dirs) walk(d, 0);
  for (const name of PREFERRED) {
    const hit = found.find((p) => p.endsWith(`/${name}`) || p.endsWith(`\\${name}`));
    if (hit) return hit;
  }
  return found.find((p) => /\.(ttf|otf)$/i.test(p)) ?? null;
}

function isDir(path: string): boolean {
  try { return statSync(path).isDirectory(); } catch { return false; }
}

export function renderPng(svg: string, fontFile: string | null = findFontFile()): PngResult {
  const options: ResvgRenderOptions = {
    fitTo: { mode: "original" },
    background: "#ffffff",
    font: { loadSystemFonts: true, fontFiles: fontFile ? [fontFile] : [], ...(fontFile?.includes("DejaVuSans") ? { defaultFontFamily: "DejaVu Sans" } : {}) },
  };
  const image = new Resvg(svg, options).render();
  return { png: image.asPng(), width: image.width, height: image.height, fontFile, hasText: rendersText(options) };
}

function rendersText(options: ResvgRenderOptions): boolean {
  const probe = `<svg xmlns="http://www.w3.org/2000/svg" width="80" height="30"><text x="4" y="22" font-size="18" font-family="DejaVu Sans, Arial, sans-serif">Ag</text></svg>`;
  const pixels = new Resvg(probe, { ...options, background: undefined }).render().pixels;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true;
  return false;
}

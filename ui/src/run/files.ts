// Reading a run's artifact files through the server's artifact proxy: listing a folder, the
// first bytes of a file (previews never pull a whole large file), a download, and what kind of
// preview a name gets.
import { fetchFile } from "../api";
import type { FileInfo } from "./types";

const PROXY = "/api/v1/artifact-files/";

/** The run's artifact folder as a proxy path, or null when this server does not serve it. */
export function artifactRoot(artifactUri: string): string | null {
  const at = artifactUri.indexOf(PROXY);
  if (at < 0) return null;
  return artifactUri.slice(at + PROXY.length).replace(/\/+$/, "");
}

/** A proxy path with each part URL-encoded. */
export function encodePath(path: string): string {
  return path.split("/").filter(Boolean).map(encodeURIComponent).join("/");
}

/** The entries directly under `path` (relative to the artifact root). */
export async function listFolder(root: string, path: string): Promise<FileInfo[]> {
  const full = path ? `${root}/${path}` : root;
  const response = await fetchFile(`${encodePath(full)}?list=1`);
  const entries = (await response.json()) as FileInfo[];
  return entries.map((e) => ({ ...e, path: e.path.startsWith(root + "/") ? e.path.slice(root.length + 1) : e.path }));
}

/** At most `limit` bytes from the start of a file; `truncated` when there was more. */
export async function readHead(root: string, path: string, limit: number): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  const response = await fetchFile(encodePath(`${root}/${path}`), { headers: { Range: `bytes=0-${limit - 1}` } });
  const reader = response.body!.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    if (size > limit) {
      truncated = true;
      await reader.cancel();
      break;
    }
  }
  const bytes = new Uint8Array(Math.min(size, limit));
  let offset = 0;
  for (const chunk of chunks) {
    const take = Math.min(chunk.length, bytes.length - offset);
    bytes.set(chunk.subarray(0, take), offset);
    offset += take;
    if (offset >= bytes.length) break;
  }
  return { bytes, truncated };
}

/** Save the whole file (fetched with the token header, so it works behind tokens too). */
export async function download(root: string, path: string): Promise<void> {
  const response = await fetchFile(encodePath(`${root}/${path}`));
  const url = URL.createObjectURL(await response.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = path.split("/").pop() ?? "artifact";
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export type PreviewKind = "image" | "csv" | "json" | "markdown" | "html" | "text" | "none";

const IMAGES: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  bmp: "image/bmp",
  svg: "image/svg+xml",
};
const TEXT = new Set(["txt", "log", "yaml", "yml", "py", "cfg", "ini", "toml", "sh", "xml", "ts", "js", "sql", "r", "out", "err"]);

export function previewKind(path: string): PreviewKind {
  const name = path.split("/").pop()!.toLowerCase();
  const ext = name.includes(".") ? name.split(".").pop()! : "";
  if (ext in IMAGES) return "image";
  if (ext === "csv" || ext === "tsv") return "csv";
  if (ext === "json") return "json";
  if (ext === "md" || ext === "markdown") return "markdown";
  if (ext === "html" || ext === "htm") return "html";
  if (TEXT.has(ext) || ext === "" || name === "mlmodel") return "text";
  return "none";
}

export function imageType(path: string): string {
  const ext = path.split(".").pop()!.toLowerCase();
  return IMAGES[ext] ?? "application/octet-stream";
}

/** Rows of a CSV (or TSV) text, quotes understood; at most `maxRows`. */
export function parseCsv(text: string, maxRows: number, sep = ","): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length && rows.length < maxRows; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === sep) {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += c;
  }
  if ((field || row.length) && rows.length < maxRows) rows.push([...row, field]);
  return rows;
}

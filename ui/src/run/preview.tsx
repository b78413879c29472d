// The preview of one artifact file: images, CSV as a table, JSON, Markdown, text, and HTML in
// a sandboxed frame (no scripts, an opaque origin). Only the first bytes are fetched; a larger
// file says it was cut and offers the download.
import { useEffect, useState } from "preact/hooks";
import { ErrorMessage, Loading } from "../components";
import { formatBytes } from "./format";
import { Markdown } from "./markdown";
import { download, imageType, parseCsv, previewKind, readHead } from "./files";
import type { FileInfo } from "./types";

/** previews read at most this much of a file */
export const PREVIEW_BYTES = 256 * 1024;
/** images up to this size are shown whole */
export const IMAGE_BYTES = 8 * 1024 * 1024;
const CSV_ROWS = 200;

interface Loaded {
  text?: string;
  url?: string;
  truncated: boolean;
}

export function Preview({ root, file }: { root: string; file: FileInfo }) {
  const kind = previewKind(file.path);
  const [state, setState] = useState<{ loaded?: Loaded; error?: unknown } | null>(null);
  const tooBig = kind === "image" && file.size != null && file.size > IMAGE_BYTES;
  useEffect(() => {
    if (kind === "none" || tooBig) return;
    let live = true;
    let url: string | undefined;
    setState(null);
    const limit = kind === "image" ? IMAGE_BYTES : PREVIEW_BYTES;
    readHead(root, file.path, limit).then(
      ({ bytes, truncated }) => {
        if (!live) return;
        if (kind === "image" || kind === "html") {
          const type = kind === "image" ? imageType(file.path) : "text/html";
          url = URL.createObjectURL(new Blob([bytes as BlobPart], { type }));
          setState({ loaded: { url, truncated: truncated || (file.size ?? 0) > limit } });
        } else setState({ loaded: { text: new TextDecoder().decode(bytes), truncated: truncated || (file.size ?? 0) > limit } });
      },
      (error) => live && setState({ error }),
    );
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [root, file.path]);

  const name = file.path.split("/").pop();
  return (
    <div class="preview" data-testid="preview">
      <div class="preview-head">
        <strong class="mono">{file.path}</strong>
        <span class="muted">{file.size != null ? formatBytes(file.size) : ""}</span>
        {file.sha256 && <span class="mono muted" title="sha256 recorded when logged">sha256 {file.sha256}</span>}
        <button type="button" onClick={() => download(root, file.path)}>Download {name}</button>
      </div>
      {state?.loaded?.truncated && (
        <p class="note-truncated" role="note">
          Preview shows the first {formatBytes(PREVIEW_BYTES)} of {file.size != null ? formatBytes(file.size) : "a larger file"}; download it for the whole file.
        </p>
      )}
      {kind === "none" && <p class="muted">No preview for this type of file.</p>}
      {tooBig && <p class="muted">This image is too large to preview ({formatBytes(file.size!)}); download it.</p>}
      {state?.error ? <ErrorMessage error={state.error} /> : null}
      {kind !== "none" && !tooBig && !state && <Loading />}
      {state?.loaded && <Body kind={kind} loaded={state.loaded} path={file.path} />}
    </div>
  );
}

function Body({ kind, loaded, path }: { kind: string; loaded: Loaded; path: string }) {
  if (kind === "image") return <img class="preview-image" src={loaded.url} alt={path} />;
  if (kind === "html")
    return <iframe class="preview-frame" sandbox="" src={loaded.url} title={`preview of ${path}`} data-testid="html-preview" />;
  const text = loaded.text ?? "";
  if (kind === "csv") {
    const rows = parseCsv(text, CSV_ROWS + 1, path.toLowerCase().endsWith(".tsv") ? "\t" : ",");
    const [head, ...body] = rows;
    return (
      <div class="preview-table">
        <table class="grid" data-testid="csv-preview">
          <thead>
            <tr>{(head ?? []).map((h, i) => <th key={i}>{h}</th>)}</tr>
          </thead>
          <tbody>
            {body.slice(0, CSV_ROWS).map((row, i) => (
              <tr key={i}>{row.map((v, j) => <td key={j}>{v}</td>)}</tr>
            ))}
          </tbody>
        </table>
        {body.length > CSV_ROWS && <p class="muted">First {CSV_ROWS} rows.</p>}
      </div>
    );
  }
  if (kind === "markdown") return <Markdown text={text} />;
  if (kind === "json" && !loaded.truncated) {
    try {
      return <pre class="preview-text">{JSON.stringify(JSON.parse(text), null, 2)}</pre>;
    } catch {
      /* not valid JSON: show it as text */
    }
  }
  return <pre class="preview-text">{text}</pre>;
}

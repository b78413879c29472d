// The run's artifacts: a folder tree (each folder listed when opened) with sizes and the sha256
// recorded when a file was logged, and the preview of the selected file.
import { useEffect, useState } from "preact/hooks";
import { call } from "../api";
import { ErrorMessage, Loading } from "../components";
import { useLoad } from "../data";
import { artifactRoot, listFolder } from "./files";
import { formatBytes } from "./format";
import { Preview } from "./preview";
import type { FileInfo } from "./types";

export function ArtifactBrowser({ runId, artifactUri }: { runId: string; artifactUri: string }) {
  const root = artifactRoot(artifactUri);
  const records = useLoad(() => call<Record<string, FileInfo>>("artifact-records", { run_id: runId, prefix: "" }), [runId]);
  const [selected, setSelected] = useState<FileInfo | null>(null);
  if (root == null)
    return (
      <p class="muted">
        This run's artifacts live at <span class="mono">{artifactUri}</span>, outside this server's artifact root.
      </p>
    );
  const withRecord = (f: FileInfo): FileInfo => {
    const r = records.data?.[f.path];
    return r ? { ...f, size: r.size ?? f.size, sha256: r.sha256 } : f;
  };
  return (
    <div class="artifacts" data-testid="artifacts">
      <div class="artifact-tree" role="tree">
        <Folder root={root} path="" depth={0} selected={selected?.path} onSelect={(f) => setSelected(withRecord(f))} annotate={withRecord} />
      </div>
      <div class="artifact-preview">
        {selected ? <Preview key={selected.path} root={root} file={selected} /> : <p class="muted">Select a file to preview it.</p>}
      </div>
    </div>
  );
}

function Folder(props: {
  root: string;
  path: string;
  depth: number;
  selected?: string;
  onSelect: (file: FileInfo) => void;
  annotate: (file: FileInfo) => FileInfo;
}) {
  const [entries, setEntries] = useState<{ items?: FileInfo[]; error?: unknown } | null>(null);
  useEffect(() => {
    let live = true;
    listFolder(props.root, props.path).then(
      (items) => live && setEntries({ items }),
      (error) => live && setEntries({ error }),
    );
    return () => {
      live = false;
    };
  }, [props.root, props.path]);
  if (!entries) return <Loading />;
  if (entries.error) return <ErrorMessage error={entries.error} />;
  const items = [...entries.items!].sort((a, b) => Number(b.is_dir) - Number(a.is_dir) || a.path.localeCompare(b.path));
  if (props.depth === 0 && items.length === 0) return <p class="muted">No artifacts.</p>;
  return (
    <ul class="tree-level">
      {items.map((item) => (item.is_dir ? <FolderItem key={item.path} {...props} item={item} /> : <FileItem key={item.path} {...props} item={props.annotate(item)} />))}
    </ul>
  );
}

function FolderItem(props: Parameters<typeof Folder>[0] & { item: FileInfo }) {
  const [open, setOpen] = useState(false);
  const name = props.item.path.split("/").pop();
  return (
    <li role="treeitem" aria-expanded={open}>
      <button type="button" class="tree-entry folder" onClick={() => setOpen(!open)}>
        {open ? "▾" : "▸"} {name}/
      </button>
      {open && <Folder {...props} path={props.item.path} depth={props.depth + 1} />}
    </li>
  );
}

function FileItem(props: Parameters<typeof Folder>[0] & { item: FileInfo }) {
  const name = props.item.path.split("/").pop();
  return (
    <li role="treeitem" aria-selected={props.selected === props.item.path}>
      <button type="button" class={`tree-entry file${props.selected === props.item.path ? " selected" : ""}`} onClick={() => props.onSelect(props.item)}>
        {name}
      </button>
      <span class="muted size">{props.item.size != null ? formatBytes(props.item.size) : ""}</span>
    </li>
  );
}

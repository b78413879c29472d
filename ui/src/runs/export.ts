// Exports of what the runs table shows: CSV built here, Parquet answered by the server.
import type { Run } from "../types";
import type { Column } from "./columns";

function csvField(value: string | number | null): string {
  if (value == null) return "";
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One header line of column ids (run_id first), then a line per run. */
export function toCsv(runs: Run[], columns: Column[]): string {
  const shown = columns.filter((c) => c.id !== "attributes.run_id");
  const lines = [["run_id", ...shown.map((c) => c.id)].map(csvField).join(",")];
  for (const run of runs) lines.push([run.info.run_id, ...shown.map((c) => c.raw(run))].map(csvField).join(","));
  return lines.join("\r\n") + "\r\n";
}

/** Hand `blob` to the browser as a download named `name`. */
export function downloadBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const anchor = document.createElement("a");
  anchor.href = url;
  anchor.download = name;
  document.body.appendChild(anchor);
  anchor.click();
  anchor.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// The runs table's columns: attributes, params.*, metrics.*, tags.*; how each reads a run,
// how it sorts (the store's order_by key) and how it reads in a CSV.
import { formatDuration, formatNumber, formatTime } from "../format";
import type { Run } from "../types";

export interface Column {
  id: string; // "attributes.run_name", "params.lr", "metrics.acc", "tags.team"
  label: string;
  sortKey: string | null; // null: the store cannot sort by it
  text: (run: Run) => string; // as shown
  raw: (run: Run) => string | number | null; // as exported
}

const ATTRIBUTES: Record<string, Omit<Column, "id">> = {
  run_name: { label: "Run", sortKey: "attributes.run_name", text: (r) => r.info.name, raw: (r) => r.info.name },
  status: { label: "Status", sortKey: "attributes.status", text: (r) => r.info.status, raw: (r) => r.info.status },
  start_time: {
    label: "Started",
    sortKey: "attributes.start_time",
    text: (r) => formatTime(r.info.start_time),
    raw: (r) => r.info.start_time,
  },
  end_time: {
    label: "Ended",
    sortKey: "attributes.end_time",
    text: (r) => formatTime(r.info.end_time),
    raw: (r) => r.info.end_time ?? null,
  },
  duration: {
    label: "Duration",
    sortKey: null,
    text: (r) => formatDuration(duration(r)),
    raw: (r) => duration(r),
  },
  user: { label: "User", sortKey: "attributes.user", text: (r) => r.info.user ?? "", raw: (r) => r.info.user ?? null },
  run_id: { label: "Run ID", sortKey: "attributes.run_id", text: (r) => r.info.run_id, raw: (r) => r.info.run_id },
};

export const ATTRIBUTE_IDS = Object.keys(ATTRIBUTES).map((k) => `attributes.${k}`);
/** Always shown first (the run's name links to it and carries the badge). */
export const FIXED = ["attributes.run_name", "attributes.status"];

function duration(run: Run): number | null {
  return run.info.end_time != null ? run.info.end_time - run.info.start_time : null;
}

/** The column for an id, or null when the id names nothing a run can have. */
export function column(id: string): Column | null {
  const dot = id.indexOf(".");
  const entity = id.slice(0, dot);
  const key = id.slice(dot + 1);
  if (dot < 1 || !key) return null;
  if (entity === "attributes") {
    const found = ATTRIBUTES[key];
    return found ? { id, ...found } : null;
  }
  const quoted = /^[A-Za-z_][A-Za-z0-9_.]*$/.test(key) ? key : "`" + key.replace(/`/g, "") + "`";
  const sortKey = `${entity}.${quoted}`;
  if (entity === "metrics")
    return {
      id,
      label: key,
      sortKey,
      text: (r) => formatNumber(r.data.metrics[key]),
      raw: (r) => r.data.metrics[key] ?? null,
    };
  if (entity === "params" || entity === "tags")
    return {
      id,
      label: key,
      sortKey,
      text: (r) => r.data[entity][key] ?? "",
      raw: (r) => r.data[entity][key] ?? null,
    };
  return null;
}

export interface Available {
  params: string[];
  metrics: string[];
  tags: string[];
}

/** The keys the loaded runs have (used until the server's run-columns answers). */
export function derive(runs: Iterable<Run>): Available {
  const params = new Set<string>();
  const metrics = new Set<string>();
  const tags = new Set<string>();
  for (const run of runs) {
    Object.keys(run.data.params).forEach((k) => params.add(k));
    Object.keys(run.data.metrics).forEach((k) => metrics.add(k));
    Object.keys(run.data.tags).forEach((k) => !k.startsWith("mlcore.") && tags.add(k));
  }
  return { params: [...params].sort(), metrics: [...metrics].sort(), tags: [...tags].sort() };
}

/** Columns shown when the URL names none: the attributes, then a few metrics and params. */
export function defaults(available: Available): string[] {
  return [
    ...FIXED,
    "attributes.start_time",
    "attributes.duration",
    ...available.metrics.slice(0, 6).map((k) => `metrics.${k}`),
    ...available.params.slice(0, 6).map((k) => `params.${k}`),
  ];
}

/** "metrics.acc DESC" → ["metrics.acc", false]; null for none. */
export function parseOrder(orderBy: string): { key: string; ascending: boolean } | null {
  const text = orderBy.trim();
  if (!text) return null;
  const match = /^(.*?)\s+(ASC|DESC)$/i.exec(text);
  if (!match) return { key: text, ascending: true };
  return { key: match[1], ascending: match[2].toUpperCase() === "ASC" };
}

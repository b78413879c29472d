// The compare page's columns: every param and latest metric of the runs, as values per run.
import type { Run } from "../types";

export interface Column {
  /** "params.lr", "metrics.loss" */
  id: string;
  kind: "param" | "metric";
  key: string;
  /** the value of each run (in the runs' order); undefined where a run has none */
  values: (string | number | undefined)[];
  /** all present values are numbers */
  numeric: boolean;
  /** the runs do not all have the same value */
  differs: boolean;
}

export function columnsOf(runs: Run[]): Column[] {
  const params = new Set<string>();
  const metrics = new Set<string>();
  for (const run of runs) {
    Object.keys(run.data.params).forEach((k) => params.add(k));
    Object.keys(run.data.metrics).forEach((k) => metrics.add(k));
  }
  const make = (kind: "param" | "metric", key: string): Column => {
    const values = runs.map((r) => (kind === "param" ? r.data.params[key] : r.data.metrics[key]));
    const present = values.filter((v) => v !== undefined);
    const numeric = present.length > 0 && present.every((v) => typeof v === "number" || (v !== "" && Number.isFinite(Number(v))));
    const differs = new Set(values.map((v) => (v === undefined ? "\u0000" : String(v)))).size > 1;
    return { id: `${kind}s.${key}`, kind, key, values, numeric, differs };
  };
  return [...[...params].sort().map((k) => make("param", k)), ...[...metrics].sort().map((k) => make("metric", k))];
}

/** A column's values as numbers (NaN where missing or not a number). */
export function asNumbers(column: Column): number[] {
  return column.values.map((v) => (v === undefined ? NaN : Number(v)));
}

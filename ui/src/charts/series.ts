// Metric series for charts: fetched downsampled from the server (`sampled-histories`: at most a
// few thousand points per line, extremes kept), then turned into x/y arrays for an x-axis
// choice, with optional EMA smoothing.
import { call } from "../api";

/** One run's history of one key, as `sampled-histories` answers it. */
export interface SampledSeries {
  run_id: string;
  key: string;
  steps: number[];
  values: (number | string | null)[];
  timestamps: number[];
  total_points: number;
  sampled: boolean;
}

/** What the x-axis shows: the step, wall time, time since the run started, or another metric. */
export type XAxis = "step" | "wall" | "relative" | `metric:${string}`;

export interface ChartSettings {
  x: XAxis;
  log: boolean;
  /** EMA weight of the past, 0 (off) .. 0.99 */
  smoothing: number;
}

export const DEFAULT_SETTINGS: ChartSettings = { x: "step", log: false, smoothing: 0 };

/** Points per line when a chart shows one run (the server keeps extremes when it samples). */
export const DEFAULT_MAX_POINTS = 2000;

export interface StepRange {
  min: number;
  max: number;
}

/** Fetch every run's series of `keys`, each at most `maxPoints` points, within `range`. */
export function fetchSeries(
  runIds: string[],
  keys: string[],
  maxPoints: number,
  range: StepRange | null,
): Promise<SampledSeries[]> {
  if (!range && keys.length === 1) {
    const early = takePrefetched(runIds, keys[0], maxPoints);
    if (early) return early;
  }
  return call<SampledSeries[]>("sampled-histories", {
    run_ids: runIds,
    keys,
    max_points: maxPoints,
    min_step: range ? range.min : null,
    max_step: range ? range.max : null,
  });
}

// Series asked for before their charts exist (a page that knows its metric keys starts one
// request for all of them while it renders); a chart takes its key's answer once.
const PREFETCH_MS = 10_000;
const prefetched = new Map<string, { at: number; series: Promise<SampledSeries[]> }>();

function prefetchId(runIds: string[], key: string, maxPoints: number): string {
  return JSON.stringify([runIds, key, maxPoints]);
}

function takePrefetched(runIds: string[], key: string, maxPoints: number): Promise<SampledSeries[]> | null {
  const id = prefetchId(runIds, key, maxPoints);
  const found = prefetched.get(id);
  prefetched.delete(id);
  return found && Date.now() - found.at < PREFETCH_MS ? found.series : null;
}

/** Start one request for the whole-range series of `keys`; the charts of those keys use it. */
export function prefetchSeries(runIds: string[], keys: string[], maxPoints: number): void {
  const now = Date.now();
  for (const [id, entry] of prefetched) if (now - entry.at >= PREFETCH_MS) prefetched.delete(id);
  const todo = keys.filter((k) => !prefetched.has(prefetchId(runIds, k, maxPoints)));
  if (runIds.length === 0 || todo.length === 0) return;
  const all = call<SampledSeries[]>("sampled-histories", {
    run_ids: runIds,
    keys: todo,
    max_points: maxPoints,
    min_step: null,
    max_step: null,
  });
  all.catch(() => undefined); // a chart that takes it sees the error
  for (const key of todo) {
    const series = all.then((found) => found.filter((s) => s.key === key));
    series.catch(() => undefined);
    prefetched.set(prefetchId(runIds, key, maxPoints), { at: now, series });
  }
}

/** JSON values as numbers: null stays null (NaN on the server), "Infinity" becomes Infinity. */
export function numbers(values: (number | string | null)[]): (number | null)[] {
  const out = new Array<number | null>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = v == null ? null : typeof v === "number" ? v : Number(v);
  }
  return out;
}

/** Exponential moving average, debiased (the first points are not pulled towards 0). */
export function ema(values: (number | null)[], weight: number): (number | null)[] {
  if (!(weight > 0)) return values;
  const out = new Array<number | null>(values.length);
  let last = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v == null || !Number.isFinite(v)) {
      out[i] = v;
      continue;
    }
    last = last * weight + (1 - weight) * v;
    count++;
    out[i] = last / (1 - Math.pow(weight, count));
  }
  return out;
}

export interface XY {
  x: number[];
  y: (number | null)[];
  /** the step of each point (to map a zoomed x-range back to steps) */
  steps: number[];
}

/**
 * The points of `series` against the chosen x-axis. `start` is the run's start time (ms) for
 * relative time; `xSeries` is the other metric's series of the same run for a metric x-axis.
 */
export function toXY(
  series: SampledSeries,
  x: XAxis,
  smoothing: number,
  start?: number,
  xSeries?: SampledSeries,
): XY {
  const y = ema(numbers(series.values), smoothing);
  if (x === "step") return { x: series.steps, y, steps: series.steps };
  if (x === "wall") return { x: series.timestamps.map((t) => t / 1000), y, steps: series.steps };
  if (x === "relative") {
    const t0 = start ?? series.timestamps[0] ?? 0;
    return { x: series.timestamps.map((t) => (t - t0) / 1000), y, steps: series.steps };
  }
  // another metric: pair the points logged at the same step, ordered by that metric
  const other = new Map<number, number | null>();
  if (xSeries) {
    const xv = numbers(xSeries.values);
    xSeries.steps.forEach((s, i) => other.set(s, xv[i]));
  }
  const pairs: [number, number | null, number][] = [];
  series.steps.forEach((s, i) => {
    const v = other.get(s);
    if (v != null && Number.isFinite(v)) pairs.push([v, y[i], s]);
  });
  pairs.sort((a, b) => a[0] - b[0]);
  return { x: pairs.map((p) => p[0]), y: pairs.map((p) => p[1]), steps: pairs.map((p) => p[2]) };
}

/** The step range covered by the points whose x lies in [min, max]; null when none does. */
export function stepsWithin(lines: XY[], min: number, max: number, x: XAxis): StepRange | null {
  if (x === "step") {
    const lo = Math.ceil(min);
    const hi = Math.floor(max);
    return hi >= lo ? { min: lo, max: hi } : null;
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const line of lines)
    for (let i = 0; i < line.x.length; i++)
      if (line.x[i] >= min && line.x[i] <= max) {
        lo = Math.min(lo, line.steps[i]);
        hi = Math.max(hi, line.steps[i]);
      }
  return hi >= lo ? { min: lo, max: hi } : null;
}

/** Settings from the page's query string (`x`, `log`, `smooth`). */
export function settingsFromQuery(query: URLSearchParams): ChartSettings {
  const x = query.get("x") ?? "step";
  const valid = x === "step" || x === "wall" || x === "relative" || x.startsWith("metric:");
  const smoothing = Number(query.get("smooth") ?? 0);
  return {
    x: (valid ? x : "step") as XAxis,
    log: query.get("log") === "1",
    smoothing: Number.isFinite(smoothing) ? Math.min(Math.max(smoothing, 0), 0.99) : 0,
  };
}

export function settingsToQuery(s: ChartSettings): Record<string, string | null> {
  return { x: s.x === "step" ? null : s.x, log: s.log ? "1" : null, smooth: s.smoothing ? String(s.smoothing) : null };
}

// One metric of one or more runs as a chart: drawn when scrolled into view, downsampled by the
// server, zoomed by dragging (the zoomed step range is fetched again, at full resolution when
// it is small enough), reset by double-click.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ErrorMessage } from "../components";
import { LineChart, type Line } from "./LineChart";
import { DEFAULT_MAX_POINTS, fetchSeries, stepsWithin, toXY, type ChartSettings, type SampledSeries, type StepRange, type XY } from "./series";

export interface ChartRun {
  run_id: string;
  name: string;
  start_time?: number;
}

export interface MetricChartProps {
  runs: ChartRun[];
  metricKey: string;
  settings: ChartSettings;
  /** points per line the server may send (it keeps extremes when it samples) */
  maxPoints?: number;
  height?: number;
}

/** True once the element has come near the viewport (then stays true). */
export function useSeen(margin = "200px") {
  const ref = useRef<HTMLDivElement>(null);
  const [seen, setSeen] = useState(false);
  useEffect(() => {
    const el = ref.current;
    if (!el || seen) return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) {
          setSeen(true);
          observer.disconnect();
        }
      },
      { rootMargin: margin },
    );
    observer.observe(el);
    return () => observer.disconnect();
  }, [seen]);
  return { ref, seen };
}

const X_LABELS: Record<string, string> = { step: "step", wall: "time", relative: "seconds since start" };

export function MetricChart(props: MetricChartProps) {
  const { runs, metricKey, settings } = props;
  const { ref, seen } = useSeen();
  const [range, setRange] = useState<StepRange | null>(null);
  const [answer, setAnswer] = useState<{ series: SampledSeries[]; error?: unknown } | null>(null);
  const xMetric = settings.x.startsWith("metric:") ? settings.x.slice("metric:".length) : null;
  const runIds = runs.map((r) => r.run_id).join(",");

  useEffect(() => {
    if (!seen) return;
    let live = true;
    const keys = xMetric && xMetric !== metricKey ? [metricKey, xMetric] : [metricKey];
    fetchSeries(runs.map((r) => r.run_id), keys, props.maxPoints ?? DEFAULT_MAX_POINTS, range).then(
      (series) => live && setAnswer({ series }),
      (error) => live && setAnswer({ series: [], error }),
    );
    return () => {
      live = false;
    };
  }, [seen, runIds, metricKey, xMetric, range?.min, range?.max]);

  const xy = useMemo(() => {
    if (!answer) return null;
    const byRun = new Map<string, SampledSeries>();
    const xByRun = new Map<string, SampledSeries>();
    for (const s of answer.series) {
      if (s.key === metricKey) byRun.set(s.run_id, s);
      if (xMetric && s.key === xMetric) xByRun.set(s.run_id, s);
    }
    const out: { run: ChartRun; xy: XY; series: SampledSeries }[] = [];
    for (const run of runs) {
      const series = byRun.get(run.run_id);
      if (series && series.steps.length)
        out.push({ run, series, xy: toXY(series, settings.x, settings.smoothing, run.start_time, xByRun.get(run.run_id)) });
    }
    return out;
  }, [answer, settings.x, settings.smoothing]);

  const lines: Line[] = useMemo(
    () => (xy ?? []).map((e) => ({ label: e.run.name, x: e.xy.x, y: e.xy.y })),
    [xy],
  );
  const total = (xy ?? []).reduce((n, e) => n + e.series.total_points, 0);
  const shown = (xy ?? []).reduce((n, e) => n + e.series.steps.length, 0);
  const sampled = (xy ?? []).some((e) => e.series.sampled);

  return (
    <div class="chart-card" ref={ref} data-testid={`chart-${metricKey}`} data-range={range ? `${range.min}-${range.max}` : ""}>
      <h3>
        <span>{metricKey}</span>
        <span class="note">
          {range && `steps ${range.min}–${range.max} · `}
          {answer && !answer.error && (sampled ? `${shown.toLocaleString()} of ${total.toLocaleString()} points` : `${total.toLocaleString()} points`)}
          {range && " · double-click to reset"}
        </span>
      </h3>
      {answer?.error ? <ErrorMessage error={answer.error} /> : null}
      {!seen || !answer ? <p class="muted">Loading…</p> : null}
      {answer && !answer.error && lines.length === 0 && <p class="muted">No points.</p>}
      {lines.length > 0 && (
        <LineChart
          lines={lines}
          xKind={settings.x === "wall" ? "time" : "number"}
          xLabel={xMetric ?? X_LABELS[settings.x]}
          logY={settings.log}
          height={props.height}
          testId={`plot-${metricKey}`}
          onSelectX={(min, max) => {
            const steps = stepsWithin(xy!.map((e) => e.xy), min, max, settings.x);
            if (steps) setRange(steps);
          }}
          onReset={() => setRange(null)}
        />
      )}
    </div>
  );
}

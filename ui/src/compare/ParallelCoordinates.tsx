// Parallel coordinates (SVG): one vertical axis per param, the chosen metric last; one line per
// run, coloured by the metric (blue low .. red high). Text params get an axis of their values.
import { useState } from "preact/hooks";
import { formatNumber } from "../format";
import type { Run } from "../types";
import { asNumbers, type Column } from "./columns";

interface Axis {
  label: string;
  /** each run's position on the axis, 0 (bottom) .. 1 (top); NaN where missing */
  pos: number[];
  ticks: { at: number; text: string }[];
}

function axisOf(column: Column): Axis {
  if (column.numeric) {
    const v = asNumbers(column);
    const finite = v.filter(Number.isFinite);
    const lo = Math.min(...finite);
    const hi = Math.max(...finite);
    const span = hi - lo || 1;
    return {
      label: column.id,
      pos: v.map((x) => (Number.isFinite(x) ? (hi === lo ? 0.5 : (x - lo) / span) : NaN)),
      ticks: hi === lo ? [{ at: 0.5, text: formatNumber(lo) }] : [
        { at: 0, text: formatNumber(lo) },
        { at: 1, text: formatNumber(hi) },
      ],
    };
  }
  const cats = [...new Set(column.values.filter((x) => x !== undefined).map(String))].sort();
  const at = (i: number) => (cats.length === 1 ? 0.5 : i / (cats.length - 1));
  return {
    label: column.id,
    pos: column.values.map((x) => (x === undefined ? NaN : at(cats.indexOf(String(x))))),
    ticks: cats.slice(0, 12).map((c, i) => ({ at: at(i), text: c })),
  };
}

export function metricColor(t: number): string {
  return Number.isFinite(t) ? `hsl(${Math.round(240 - 240 * t)} 75% 45%)` : "#999";
}

export function ParallelCoordinates({ runs, columns }: { runs: Run[]; columns: Column[] }) {
  const metrics = columns.filter((c) => c.kind === "metric" && c.numeric);
  const [metricId, setMetricId] = useState(metrics[0]?.id ?? "");
  const metric = metrics.find((m) => m.id === metricId) ?? metrics[0];
  const params = columns.filter((c) => c.kind === "param");
  const varying = params.filter((c) => c.differs);
  const axes = [...(varying.length ? varying : params).slice(0, 12), ...(metric ? [metric] : [])].map(axisOf);
  if (!metric || axes.length < 2) return <p class="muted">Needs params and a numeric metric.</p>;
  const last = axes[axes.length - 1];
  const width = Math.max(600, axes.length * 140);
  const height = 300;
  const top = 30;
  const bottom = 30;
  const x = (i: number) => 60 + (i * (width - 120)) / (axes.length - 1);
  const y = (p: number) => top + (1 - p) * (height - top - bottom);
  return (
    <div>
      <label class="chart-controls">
        Colour by
        <select name="parallel-metric" value={metric.id} onChange={(e) => setMetricId((e.target as HTMLSelectElement).value)}>
          {metrics.map((m) => (
            <option key={m.id} value={m.id}>{m.id}</option>
          ))}
        </select>
      </label>
      <div class="diff-scroll">
        <svg width={width} height={height} class="parallel" data-testid="parallel-coordinates" role="img" aria-label={`parallel coordinates of params against ${metric.id}`}>
          {runs.map((run, r) => {
            const points = axes.map((a, i) => (Number.isFinite(a.pos[r]) ? `${x(i)},${y(a.pos[r])}` : null));
            return (
              <polyline key={run.info.run_id} points={points.filter(Boolean).join(" ")} fill="none" stroke={metricColor(last.pos[r])} stroke-width="1.5" opacity="0.75" data-run={run.info.run_id}>
                <title>{run.info.name}</title>
              </polyline>
            );
          })}
          {axes.map((a, i) => (
            <g key={a.label}>
              <line x1={x(i)} x2={x(i)} y1={top} y2={height - bottom} stroke="#444" />
              <text x={x(i)} y={top - 12} text-anchor="middle" class="axis-label">{a.label}</text>
              {a.ticks.map((t) => (
                <text key={t.text} x={x(i) + 4} y={y(t.at) + 4} class="tick">{t.text}</text>
              ))}
            </g>
          ))}
        </svg>
      </div>
    </div>
  );
}

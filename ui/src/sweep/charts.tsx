// Two small SVG charts of a sweep: the objective by trial (with the best so far) and parallel
// coordinates of the parameters and the objective.
import { formatNumber } from "../format";

export interface TrialPoint {
  trial: number;
  value: number | null;
  best: boolean;
  runId: string;
}

const W = 640;
const H = 240;
const M = { left: 56, right: 16, top: 12, bottom: 30 };

function scale(lo: number, hi: number, a: number, b: number) {
  const span = hi - lo || 1;
  return (v: number) => a + ((v - lo) / span) * (b - a);
}

export function ObjectiveChart({ points, maximize, metric }: { points: TrialPoint[]; maximize: boolean; metric: string }) {
  const scored = points.filter((p) => p.value != null) as (TrialPoint & { value: number })[];
  if (!scored.length) return <p class="muted">No trial has a value of {metric} yet.</p>;
  const trials = points.map((p) => p.trial);
  const values = scored.map((p) => p.value);
  const x = scale(Math.min(...trials), Math.max(...trials), M.left, W - M.right);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const y = scale(lo, hi, H - M.bottom, M.top);
  const sorted = [...scored].sort((a, b) => a.trial - b.trial);
  let best = sorted[0].value;
  const path = sorted
    .map((p, i) => {
      best = maximize ? Math.max(best, p.value) : Math.min(best, p.value);
      return `${i ? "L" : "M"}${x(p.trial)},${y(best)}`;
    })
    .join(" ");
  return (
    <svg class="chart" width={W} height={H} viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${metric} by trial`} data-testid="objective-chart">
      <line class="axis" x1={M.left} y1={H - M.bottom} x2={W - M.right} y2={H - M.bottom} />
      <line class="axis" x1={M.left} y1={M.top} x2={M.left} y2={H - M.bottom} />
      <text x={M.left - 6} y={y(hi) + 4} text-anchor="end">
        {formatNumber(hi)}
      </text>
      <text x={M.left - 6} y={y(lo) + 4} text-anchor="end">
        {formatNumber(lo)}
      </text>
      <text x={(M.left + W - M.right) / 2} y={H - 6} text-anchor="middle">
        trial
      </text>
      <text x={M.left} y={H - M.bottom + 14} text-anchor="middle">
        {Math.min(...trials)}
      </text>
      <text x={W - M.right} y={H - M.bottom + 14} text-anchor="end">
        {Math.max(...trials)}
      </text>
      <path class="running-best" d={path} />
      {scored.map((p) => (
        <circle key={p.runId} class={`point ${p.best ? "best" : ""}`} cx={x(p.trial)} cy={y(p.value)} r={p.best ? 6 : 4}>
          <title>{`trial ${p.trial}: ${metric} = ${formatNumber(p.value)}`}</title>
        </circle>
      ))}
    </svg>
  );
}

export interface PcRow {
  runId: string;
  values: Record<string, unknown>;
  objective: number | null;
}

/** Parallel coordinates: one axis per parameter and one for the objective; each trial a line,
 * coloured from worst (grey-blue) to best (gold). Categorical values spread evenly. */
export function ParallelCoordinates({ rows, axes, metric, maximize }: { rows: PcRow[]; axes: string[]; metric: string; maximize: boolean }) {
  const shown = rows.filter((r) => r.objective != null);
  if (shown.length < 2 || axes.length === 0) return <p class="muted">Needs two finished trials.</p>;
  const all = [...axes, metric];
  const width = Math.max(420, 140 * all.length);
  const height = 240;
  const top = 20;
  const bottom = height - 34;
  const x = (i: number) => 50 + (i * (width - 100)) / Math.max(1, all.length - 1);
  const valueOf = (r: PcRow, axis: string) => (axis === metric ? r.objective : r.values[axis]);
  const position = all.map((axis) => {
    const values = shown.map((r) => valueOf(r, axis));
    if (values.every((v) => typeof v === "number")) {
      const nums = values as number[];
      const lo = Math.min(...nums);
      const hi = Math.max(...nums);
      return { at: (v: unknown) => scale(lo, hi, bottom, top)(v as number), labels: [formatNumber(lo), formatNumber(hi)] };
    }
    const levels = [...new Set(values.map(String))].sort();
    return {
      at: (v: unknown) => (levels.length > 1 ? scale(0, levels.length - 1, bottom, top)(levels.indexOf(String(v))) : (top + bottom) / 2),
      labels: [levels[0], levels[levels.length - 1]],
    };
  });
  const objectives = shown.map((r) => r.objective as number);
  const lo = Math.min(...objectives);
  const hi = Math.max(...objectives);
  const colour = (v: number) => {
    const t = hi === lo ? 1 : (v - lo) / (hi - lo);
    const good = maximize ? t : 1 - t;
    const r = Math.round(120 + good * 104);
    const g = Math.round(140 + good * 20);
    const b = Math.round(200 - good * 200);
    return `rgb(${r},${g},${b})`;
  };
  return (
    <svg class="chart" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label="parallel coordinates" data-testid="parallel-coordinates">
      {shown.map((r) => (
        <path
          key={r.runId}
          class="pc-line"
          stroke={colour(r.objective as number)}
          d={all.map((axis, i) => `${i ? "L" : "M"}${x(i)},${position[i].at(valueOf(r, axis))}`).join(" ")}
        />
      ))}
      {all.map((axis, i) => (
        <g key={axis}>
          <line class="axis" x1={x(i)} y1={top} x2={x(i)} y2={bottom} />
          <text x={x(i)} y={height - 8} text-anchor="middle" style={{ fontWeight: 600 }}>
            {axis}
          </text>
          <text x={x(i) + 4} y={top - 6}>
            {position[i].labels[1]}
          </text>
          <text x={x(i) + 4} y={bottom + 12}>
            {position[i].labels[0]}
          </text>
        </g>
      ))}
    </svg>
  );
}

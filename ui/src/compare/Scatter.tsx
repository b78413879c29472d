// A scatter of any two numeric columns (SVG), one point per run, its name on hover.
import { useState } from "preact/hooks";
import { formatNumber } from "../format";
import type { Run } from "../types";
import { lineColor } from "../charts/LineChart";
import { asNumbers, type Column } from "./columns";

export function Scatter({ runs, columns }: { runs: Run[]; columns: Column[] }) {
  const numeric = columns.filter((c) => c.numeric);
  const pick = (kind: string) => numeric.find((c) => c.kind === kind && c.differs) ?? numeric.find((c) => c.kind === kind);
  const [xId, setX] = useState(pick("param")?.id ?? numeric[0]?.id ?? "");
  const [yId, setY] = useState(pick("metric")?.id ?? numeric[1]?.id ?? "");
  const xc = numeric.find((c) => c.id === xId);
  const yc = numeric.find((c) => c.id === yId);
  if (numeric.length < 2) return <p class="muted">Needs two numeric columns.</p>;
  const select = (name: string, value: string, set: (v: string) => void) => (
    <select name={name} value={value} onChange={(e) => set((e.target as HTMLSelectElement).value)}>
      {numeric.map((c) => (
        <option key={c.id} value={c.id}>{c.id}</option>
      ))}
    </select>
  );
  const xs = xc ? asNumbers(xc) : [];
  const ys = yc ? asNumbers(yc) : [];
  const range = (v: number[]) => {
    const f = v.filter(Number.isFinite);
    const lo = Math.min(...f);
    const hi = Math.max(...f);
    return hi > lo ? [lo, hi] : [lo - 1, lo + 1];
  };
  const [x0, x1] = range(xs);
  const [y0, y1] = range(ys);
  const W = 520;
  const H = 320;
  const P = 50;
  const px = (v: number) => P + ((v - x0) / (x1 - x0)) * (W - 2 * P);
  const py = (v: number) => H - P + -((v - y0) / (y1 - y0)) * (H - 2 * P);
  return (
    <div>
      <div class="chart-controls">
        <label>X {select("scatter-x", xId, setX)}</label>
        <label>Y {select("scatter-y", yId, setY)}</label>
      </div>
      <svg width={W} height={H} class="scatter" data-testid="scatter" role="img" aria-label={`${yId} against ${xId}`}>
        <line x1={P} x2={W - P} y1={H - P} y2={H - P} stroke="#444" />
        <line x1={P} x2={P} y1={P} y2={H - P} stroke="#444" />
        <text x={W / 2} y={H - 12} text-anchor="middle" class="axis-label">{xId}</text>
        <text x={14} y={H / 2} text-anchor="middle" class="axis-label" transform={`rotate(-90 14 ${H / 2})`}>{yId}</text>
        <text x={P} y={H - P + 16} class="tick">{formatNumber(x0)}</text>
        <text x={W - P} y={H - P + 16} text-anchor="end" class="tick">{formatNumber(x1)}</text>
        <text x={P - 4} y={H - P} text-anchor="end" class="tick">{formatNumber(y0)}</text>
        <text x={P - 4} y={P + 4} text-anchor="end" class="tick">{formatNumber(y1)}</text>
        {runs.map((run, i) =>
          Number.isFinite(xs[i]) && Number.isFinite(ys[i]) ? (
            <circle key={run.info.run_id} cx={px(xs[i])} cy={py(ys[i])} r="5" fill={lineColor(i)} data-run={run.info.run_id}>
              <title>{`${run.info.name}: ${xId}=${formatNumber(xs[i])}, ${yId}=${formatNumber(ys[i])}`}</title>
            </circle>
          ) : null,
        )}
      </svg>
    </div>
  );
}

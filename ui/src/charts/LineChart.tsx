// A uPlot line chart of several series that any page can use: hover values in the legend,
// log scale, drag to select an x-range (the caller refetches it), double-click to reset.
// The drawn extent is exposed as data attributes (data-y-max, data-x-min, ...) for tests.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import "./charts.css";

export interface Line {
  label: string;
  x: ArrayLike<number>;
  y: ArrayLike<number | null>;
}

export interface LineChartProps {
  lines: Line[];
  /** "time": x is seconds since the epoch (wall clock); "number" otherwise */
  xKind?: "number" | "time";
  xLabel?: string;
  logY?: boolean;
  /** draw points instead of lines (a scatter) */
  points?: boolean;
  height?: number;
  /** called with the dragged x-range; without it, dragging zooms in place */
  onSelectX?: (min: number, max: number) => void;
  /** called on double-click; without it, double-click shows all data again */
  onReset?: () => void;
  testId?: string;
}

/** The colour of the i-th line (distinct hues, stable by position). */
export function lineColor(i: number): string {
  return `hsl(${Math.round((i * 137.508) % 360)} 70% 42%)`;
}

function sameX(lines: Line[]): boolean {
  const first = lines[0].x;
  for (const line of lines) {
    if (line.x === first) continue;
    if (line.x.length !== first.length) return false;
    for (let i = 0; i < first.length; i++) if (line.x[i] !== first[i]) return false;
  }
  return true;
}

/** The lines as uPlot's aligned data (one shared x array); log scale drops values <= 0. */
export function align(lines: Line[], log: boolean): uPlot.AlignedData {
  const clean = (y: ArrayLike<number | null>) =>
    Array.from(y, (v) => (v == null || !Number.isFinite(v) || (log && v <= 0) ? null : v));
  if (lines.length === 0) return [[]];
  if (sameX(lines)) return [Array.from(lines[0].x), ...lines.map((l) => clean(l.y))];
  return uPlot.join(lines.map((l) => [Array.from(l.x), clean(l.y)] as uPlot.AlignedData));
}

function extent(values: ArrayLike<number | null | undefined>): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v == null || !Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return hi >= lo ? [lo, hi] : null;
}

export function LineChart(props: LineChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const handlers = useRef(props);
  handlers.current = props;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const { lines, logY, points, xKind } = props;
    const data = align(lines, !!logY);
    const selectable = !!props.onSelectX;
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 200),
      height: props.height ?? 240,
      scales: {
        x: { time: xKind === "time" },
        y: logY ? { distr: 3 } : {},
      },
      axes: [{ label: props.xLabel, labelSize: props.xLabel ? 20 : 0 }, {}],
      legend: { live: true },
      cursor: {
        drag: { x: true, y: false, setScale: !selectable },
        points: { show: !points },
      },
      series: [
        { label: props.xLabel ?? "x" },
        ...lines.map((line, i) => ({
          label: line.label,
          stroke: lineColor(i),
          width: 1.25,
          spanGaps: true,
          points: points ? { show: true, size: 5, fill: lineColor(i) } : { size: 4 },
          paths: points ? () => null : undefined,
        })),
      ],
      hooks: {
        setSelect: [
          (u: uPlot) => {
            if (!selectable || u.select.width < 3) return;
            const min = u.posToVal(u.select.left, "x");
            const max = u.posToVal(u.select.left + u.select.width, "x");
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            handlers.current.onSelectX?.(min, max);
          },
        ],
      },
    };
    const chart = new uPlot(opts, data, el);
    plot.current = chart;
    const reset = () => {
      if (handlers.current.onReset) handlers.current.onReset();
      else chart.setData(chart.data, true);
    };
    chart.over.addEventListener("dblclick", reset);
    // what is drawn, for tests and tools: the data's extent and the number of points
    const xs = extent(data[0] as ArrayLike<number>);
    let yLo = Infinity;
    let yHi = -Infinity;
    let count = 0;
    for (let s = 1; s < data.length; s++) {
      const e = extent(data[s] as ArrayLike<number | null>);
      if (e) [yLo, yHi] = [Math.min(yLo, e[0]), Math.max(yHi, e[1])];
      count += lines[s - 1].x.length;
    }
    el.dataset.points = String(count);
    el.dataset.xMin = xs ? String(xs[0]) : "";
    el.dataset.xMax = xs ? String(xs[1]) : "";
    el.dataset.yMin = yHi >= yLo ? String(yLo) : "";
    el.dataset.yMax = yHi >= yLo ? String(yHi) : "";
    el.dataset.log = logY ? "1" : "0";
    const resize = new ResizeObserver(() => {
      const width = Math.max(el.clientWidth, 200);
      if (width !== chart.width) chart.setSize({ width, height: chart.height });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, [props.lines, props.logY, props.points, props.xKind, props.xLabel, props.height]);

  return <div class="line-chart" ref={box} data-testid={props.testId} />;
}

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

// Charts are built one after another, one per animation frame, so that a page of many charts
// never holds the main thread for long (each uPlot setup and first draw is its own slice;
// uPlot draws in a microtask, so that draw ends before the next frame's chart starts).
const queue: (() => void)[] = [];
let scheduled = false;

function drainQueue() {
  scheduled = false;
  queue.shift()!();
  if (queue.length) schedule();
}

function schedule() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(drainQueue);
}

/** Run `job` in a coming frame; the returned function cancels it if it has not run. */
export function inFrame(job: () => void): () => void {
  let done = false;
  const run = () => {
    if (!done) {
      done = true;
      job();
    }
  };
  queue.push(run);
  schedule();
  return () => {
    done = true;
  };
}

/** Beyond this many lines a chart shows a readout of the nearest line instead of a legend. */
export const MAX_LEGEND_LINES = 20;

function short(v: number): string {
  return Math.abs(v) >= 1e6 || (v !== 0 && Math.abs(v) < 1e-4) ? v.toExponential(3) : String(+v.toPrecision(5));
}

/** "label: y at x" of the line nearest the cursor (in pixels), or "" off the plot. */
function nearestLine(u: uPlot): string {
  const i = u.cursor.idx;
  const top = u.cursor.top;
  if (i == null || top == null || top < 0) return "";
  let best = -1;
  let distance = Infinity;
  for (let s = 1; s < u.series.length; s++) {
    const v = u.data[s][i];
    if (v == null) continue;
    const d = Math.abs(u.valToPos(v, "y") - top);
    if (d < distance) [best, distance] = [s, d];
  }
  if (best < 0) return "";
  return `${u.series[best].label}: ${short(u.data[best][i]!)} at ${short(u.data[0][i])}`;
}

export function LineChart(props: LineChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const handlers = useRef(props);
  handlers.current = props;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    let chart = null as uPlot | null;
    let resize = null as ResizeObserver | null;
    const cancel = inFrame(() => {
      const { lines, logY, points, xKind } = props;
      const data = align(lines, !!logY);
      const selectable = !!props.onSelectX;
      // many lines: no legend table (a row per line costs layout and hides the chart); a
      // one-line readout names the line nearest the cursor instead
      const crowded = lines.length > MAX_LEGEND_LINES;
      const readout = crowded ? document.createElement("div") : null;
      if (readout) readout.className = "chart-readout";
      const opts: uPlot.Options = {
        width: Math.max(el.clientWidth, 200),
        height: props.height ?? 240,
        scales: {
          x: { time: xKind === "time" },
          y: logY ? { distr: 3 } : {},
        },
        axes: [{ label: props.xLabel, labelSize: props.xLabel ? 20 : 0 }, {}],
        legend: { show: !crowded, live: true },
        cursor: {
          drag: { x: true, y: false, setScale: !selectable },
          points: { show: !points && !crowded },
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
          setCursor: readout ? [(u: uPlot) => (readout.textContent = nearestLine(u))] : [],
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
      chart = build(el, opts, data, lines, !!logY, handlers);
      if (readout) el.appendChild(readout); // under the plot
      plot.current = chart;
      const built = chart;
      resize = new ResizeObserver(() => {
        const width = Math.max(el.clientWidth, 200);
        if (width !== built.width) built.setSize({ width, height: built.height });
      });
      resize.observe(el);
    });
    return () => {
      cancel();
      resize?.disconnect();
      chart?.destroy();
      el.querySelector(".chart-readout")?.remove();
      plot.current = null;
    };
  }, [props.lines, props.logY, props.points, props.xKind, props.xLabel, props.height]);

  return <div class="line-chart" ref={box} data-testid={props.testId} />;
}

/** The uPlot of `data` in `el`, with double-click reset and the drawn extent as attributes. */
function build(
  el: HTMLDivElement,
  opts: uPlot.Options,
  data: uPlot.AlignedData,
  lines: Line[],
  logY: boolean,
  handlers: { current: LineChartProps },
): uPlot {
  const chart = new uPlot(opts, data, el);
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
  return chart;
}

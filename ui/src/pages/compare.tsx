// `/compare?runs=<id>,<id>,...`: a chart per metric with a line per run, a params/metrics table
// with differences highlighted, parallel coordinates of params against a metric, a scatter.
import { call } from "../api";
import { ErrorMessage, Link, Loading } from "../components";
import { useLoad } from "../data";
import { setQuery, useLocation } from "../router";
import type { Run } from "../types";
import { ChartControls } from "../charts/ChartControls";
import { lineColor } from "../charts/LineChart";
import { MetricChart } from "../charts/MetricChart";
import { settingsFromQuery, settingsToQuery } from "../charts/series";
import { columnsOf } from "../compare/columns";
import { DiffTable } from "../compare/DiffTable";
import { ParallelCoordinates } from "../compare/ParallelCoordinates";
import { Scatter } from "../compare/Scatter";
import "../compare/compare.css";

/** Points per line the server may send: fewer per line as runs are added (extremes are kept). */
export function pointsPerLine(runs: number): number {
  return Math.max(200, Math.min(2000, Math.floor(50_000 / Math.max(runs, 1))));
}

export function ComparePage() {
  const location = useLocation();
  const ids = [...new Set((location.query.get("runs") ?? "").split(",").map((s) => s.trim()).filter(Boolean))];
  const loaded = useLoad(() => Promise.all(ids.map((run_id) => call<Run>("get-run", { run_id }))), [ids.join(",")]);
  if (ids.length === 0) return <p class="muted">Pick runs to compare: /compare?runs=&lt;id&gt;,&lt;id&gt;</p>;
  if (loaded.error) return <ErrorMessage error={loaded.error} />;
  if (!loaded.data) return <Loading />;
  const runs = loaded.data;
  const settings = settingsFromQuery(location.query);
  const columns = columnsOf(runs);
  const metricKeys = [...new Set(runs.flatMap((r) => Object.keys(r.data.metrics)))].sort();
  const chartRuns = runs.map((r) => ({ run_id: r.info.run_id, name: r.info.name, start_time: r.info.start_time }));
  return (
    <section class="compare-page" data-testid="compare-page">
      <h1>Comparing {runs.length} runs</h1>
      <div class="compare-runs">
        {runs.map((r, i) => (
          <span class="chip" key={r.info.run_id}>
            <span class="swatch" style={{ background: lineColor(i) }} />
            <Link href={`/runs/${r.info.run_id}`}>{r.info.name}</Link>
          </span>
        ))}
      </div>
      <h2>Charts</h2>
      {metricKeys.length === 0 ? (
        <p class="muted">No metrics logged.</p>
      ) : (
        <>
          <ChartControls settings={settings} metricKeys={metricKeys} onChange={(s) => setQuery(settingsToQuery(s))} />
          <div class="chart-grid">
            {metricKeys.map((k) => (
              <MetricChart key={k} runs={chartRuns} metricKey={k} settings={settings} maxPoints={pointsPerLine(runs.length)} />
            ))}
          </div>
        </>
      )}
      <h2>Params and metrics</h2>
      <DiffTable runs={runs} columns={columns} />
      <div class="compare-plots">
        <div>
          <h2>Parallel coordinates</h2>
          <ParallelCoordinates runs={runs} columns={columns} />
        </div>
        <div>
          <h2>Scatter</h2>
          <Scatter runs={runs} columns={columns} />
        </div>
      </div>
    </section>
  );
}

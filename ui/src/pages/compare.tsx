// `/compare?runs=<id>,<id>,...`: a chart per metric with a line per run, a params/metrics table
// with differences highlighted, parallel coordinates of params against a metric, a scatter.
import { call } from "../api";
import { ErrorMessage, Link, Loading } from "../components";
import { useLoad } from "../data";
import { setQuery, useLocation } from "../router";
import type { Experiment, Page, Run } from "../types";
import { ChartControls } from "../charts/ChartControls";
import { lineColor } from "../charts/LineChart";
import { MetricChart } from "../charts/MetricChart";
import { prefetchSeries, settingsFromQuery, settingsToQuery } from "../charts/series";
import { columnsOf } from "../compare/columns";
import { Deferred } from "../compare/Deferred";
import { DiffTable } from "../compare/DiffTable";
import { ParallelCoordinates } from "../compare/ParallelCoordinates";
import { Scatter } from "../compare/Scatter";
import "../compare/compare.css";

/** Points per line the server may send: fewer per line as runs are added (extremes are kept);
 * a chart is ~1000 px wide, so 100 runs of 200 points each still show every spike. */
export function pointsPerLine(runs: number): number {
  return Math.max(200, Math.min(2000, Math.floor(20_000 / Math.max(runs, 1))));
}

const RUNS_PER_SEARCH = 200;
/** Charts whose series are asked for as soon as the runs are known (those on a first screen). */
const PREFETCH_CHARTS = 6;

/** The runs of `ids` in that order: a few searches (`run_id IN (...)` over every experiment)
 * instead of a request per run; a run they miss is fetched alone (so an unknown id is a 404). */
async function loadRuns(ids: string[]): Promise<Run[]> {
  const experiments = await call<Experiment[]>("search-experiments", { view: "all" });
  const experimentIds = experiments.map((e) => e.experiment_id);
  const pages = [];
  for (let i = 0; i < ids.length && experimentIds.length; i += RUNS_PER_SEARCH) {
    const part = ids.slice(i, i + RUNS_PER_SEARCH);
    pages.push(
      call<Page<Run>>("search-runs", {
        experiment_ids: experimentIds,
        filter: `attributes.run_id IN (${part.map((id) => `'${id.replace(/'/g, "")}'`).join(", ")})`,
        max_results: RUNS_PER_SEARCH,
        view: "all",
      }),
    );
  }
  const found = new Map<string, Run>();
  for (const page of await Promise.all(pages)) for (const run of page.items) found.set(run.info.run_id, run);
  return Promise.all(ids.map((run_id) => found.get(run_id) ?? call<Run>("get-run", { run_id })));
}

export function ComparePage() {
  const location = useLocation();
  const ids = [...new Set((location.query.get("runs") ?? "").split(",").map((s) => s.trim()).filter(Boolean))];
  const metricX = location.query.get("x")?.startsWith("metric:");
  const loaded = useLoad(
    () =>
      loadRuns(ids).then((runs) => {
        // the first charts' data is on its way while the page renders (a request per chart)
        const keys = [...new Set(runs.flatMap((r) => Object.keys(r.data.metrics)))].sort();
        const runIds = runs.map((r) => r.info.run_id);
        if (!metricX)
          for (const key of keys.slice(0, PREFETCH_CHARTS)) prefetchSeries(runIds, [key], pointsPerLine(runs.length));
        return runs;
      }),
    [ids.join(",")],
  );
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
      <Deferred>
        <DiffTable runs={runs} columns={columns} />
      </Deferred>
      <div class="compare-plots">
        <div>
          <h2>Parallel coordinates</h2>
          <Deferred order={1}>
            <ParallelCoordinates runs={runs} columns={columns} />
          </Deferred>
        </div>
        <div>
          <h2>Scatter</h2>
          <Deferred order={2}>
            <Scatter runs={runs} columns={columns} />
          </Deferred>
        </div>
      </div>
    </section>
  );
}

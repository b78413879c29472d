// `/runs/<run_id>`: overview, tags (editable with write scope), config, params, latest
// metrics, a chart per metric key (drawn when scrolled into view), artifacts, models, lineage.
import { useRef } from "preact/hooks";
import { call } from "../api";
import { ErrorMessage, Link, Loading, StatusBadge } from "../components";
import { useLoad } from "../data";
import { formatDuration, formatNumber, formatTime } from "../format";
import { setQuery, useLocation } from "../router";
import type { Page, Run } from "../types";
import { ChartControls } from "../charts/ChartControls";
import { MetricChart } from "../charts/MetricChart";
import { DEFAULT_MAX_POINTS, prefetchSeries, settingsFromQuery, settingsToQuery } from "../charts/series";
import { ArtifactBrowser } from "../run/artifacts";
import { artifactRoot } from "../run/files";
import { Lineage } from "../run/lineage";
import { Markdown } from "../run/markdown";
import { LoggedModels } from "../run/models";
import { TagEditor } from "../run/tags";
import "../run/run.css";

/** Charts whose series are asked for as soon as the run is known (the first ones on screen). */
const PREFETCH_CHARTS = 8;

export function RunPage({ runId }: { runId: string }) {
  const metricX = useLocation().query.get("x")?.startsWith("metric:");
  const prefetched = useRef<string | null>(null);
  const loaded = useLoad(
    () =>
      call<Run>("get-run", { run_id: runId }).then((run) => {
        // on first load, the charts' data is on its way while the page renders
        if (!metricX && prefetched.current !== runId) {
          const keys = Object.keys(run.data.metrics).sort().slice(0, PREFETCH_CHARTS);
          prefetchSeries([run.info.run_id], keys, DEFAULT_MAX_POINTS);
        }
        prefetched.current = runId;
        return run;
      }),
    [runId],
  );
  if (loaded.error) return <ErrorMessage error={loaded.error} />;
  if (!loaded.data) return <Loading />;
  return <RunView run={loaded.data} reload={loaded.reload} />;
}

function RunView({ run, reload }: { run: Run; reload: () => void }) {
  const { info, data } = run;
  const location = useLocation();
  const settings = settingsFromQuery(location.query);
  const children = useLoad(
    () =>
      call<Page<Run>>("search-runs", {
        experiment_ids: [info.experiment_id],
        filter: `attributes.parent_run_id = '${info.run_id}'`,
        max_results: 100,
      }),
    [info.run_id],
  );
  const metricKeys = Object.keys(data.metrics).sort();
  const paramKeys = Object.keys(data.params).sort();
  const tags = data.tags;
  const end = info.end_time ?? (info.status === "RUNNING" ? Date.now() : null);
  return (
    <section class="run-page" data-testid="run-page">
      <h1>
        {info.name} <StatusBadge status={info.status} />
      </h1>
      <p class="muted mono">{info.run_id}</p>
      <dl class="facts" data-testid="overview">
        <dt>Experiment</dt>
        <dd>
          <Link href={`/experiments/${encodeURIComponent(info.experiment_id)}`}>{info.experiment_id}</Link>
        </dd>
        <dt>Started</dt>
        <dd>{formatTime(info.start_time)}</dd>
        <dt>Ended</dt>
        <dd>{info.end_time ? formatTime(info.end_time) : "—"}</dd>
        <dt>Duration</dt>
        <dd>{end != null ? formatDuration(end - info.start_time) : "—"}</dd>
        {tags["mlcore.source.name"] && (
          <>
            <dt>Source</dt>
            <dd class="mono">{tags["mlcore.source.name"]}</dd>
          </>
        )}
        {tags["mlcore.source.git.commit"] && (
          <>
            <dt>Git commit</dt>
            <dd class="mono">{tags["mlcore.source.git.commit"]}</dd>
          </>
        )}
        {info.user && (
          <>
            <dt>User</dt>
            <dd>{info.user}</dd>
          </>
        )}
        {info.parent_run_id && (
          <>
            <dt>Parent</dt>
            <dd>
              <Link href={`/runs/${info.parent_run_id}`}>{info.parent_run_id}</Link>
            </dd>
          </>
        )}
        {(children.data?.items.length ?? 0) > 0 && (
          <>
            <dt>Children</dt>
            <dd data-testid="children">
              {children.data!.items.map((c) => (
                <span class="chip" key={c.info.run_id}>
                  <Link href={`/runs/${c.info.run_id}`}>{c.info.name}</Link>
                </span>
              ))}
            </dd>
          </>
        )}
      </dl>
      {tags["mlcore.note"] && (
        <div class="notes" data-testid="notes">
          <h2>Notes</h2>
          <Markdown text={tags["mlcore.note"]} />
        </div>
      )}

      <div class="two-col">
        <div>
          <h2>Params</h2>
          {paramKeys.length === 0 ? (
            <p class="muted">No params.</p>
          ) : (
            <table class="grid kv" data-testid="params">
              <tbody>
                {paramKeys.map((k) => (
                  <tr key={k}>
                    <th class="mono">{k}</th>
                    <td class="wrap">{data.params[k]}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
        <div>
          <h2>Latest metrics</h2>
          {metricKeys.length === 0 ? (
            <p class="muted">No metrics.</p>
          ) : (
            <table class="grid kv" data-testid="metrics">
              <tbody>
                {metricKeys.map((k) => (
                  <tr key={k}>
                    <th class="mono">{k}</th>
                    <td>{formatNumber(data.metrics[k])}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </div>

      <h2>Tags</h2>
      <TagEditor runId={info.run_id} tags={tags} onChanged={reload} />

      {Object.keys(run.config ?? {}).length > 0 && (
        <details class="config">
          <summary>
            <h2>Config</h2>
          </summary>
          <pre class="preview-text" data-testid="config">{JSON.stringify(run.config, null, 2)}</pre>
        </details>
      )}

      <h2>Charts</h2>
      {metricKeys.length === 0 ? (
        <p class="muted">No metrics logged.</p>
      ) : (
        <>
          <ChartControls settings={settings} metricKeys={metricKeys} onChange={(s) => setQuery(settingsToQuery(s))} />
          <div class="chart-grid">
            {metricKeys.map((k) => (
              <MetricChart key={k} runs={[{ run_id: info.run_id, name: info.name, start_time: info.start_time }]} metricKey={k} settings={settings} />
            ))}
          </div>
        </>
      )}

      <h2>Artifacts</h2>
      <ArtifactBrowser runId={info.run_id} artifactUri={info.artifact_uri} />

      <h2>Models</h2>
      <LoggedModels runId={info.run_id} root={artifactRoot(info.artifact_uri)} tags={tags} />

      <h2>Lineage</h2>
      <Lineage runId={info.run_id} />
    </section>
  );
}

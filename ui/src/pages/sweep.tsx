// `/sweeps/<sweep_id>`: a sweep (a run tagged `mlcore.sweep.kind=sweep`, its config in
// `sweep.json`) and its trials (runs tagged `mlcore.sweep.id`): the trials table, the best
// run, the objective by trial, parallel coordinates and parameter importance.
import { Fragment } from "preact";
import { useEffect } from "preact/hooks";
import { ApiError, call } from "../api";
import { ErrorMessage, Link, Loading, StatusBadge } from "../components";
import { useLoad } from "../data";
import { formatNumber, formatTime } from "../format";
import type { Run } from "../types";
import { runFileText, searchAll } from "../registry/util";
import { importance } from "../sweep/importance";
import { ObjectiveChart, ParallelCoordinates } from "../sweep/charts";
import "../registry/registry.css";

const KIND_TAG = "mlcore.sweep.kind";
const SWEEP_TAG = "mlcore.sweep.id";
const TRIAL_TAG = "mlcore.sweep.trial";
const ATTEMPT_TAG = "mlcore.sweep.attempt";
const POLL_MS = 2000;

interface SweepConfig {
  method?: string;
  metric?: { name: string; goal?: "maximize" | "minimize" } | null;
  parameters?: Record<string, Record<string, unknown>>;
}

interface Trial {
  run: Run;
  trial: number;
  attempt: number;
  params: Record<string, unknown>;
  objective: number | null;
}

/** A param as the number or bool it was, else its text (as mlcore.sweep reads it). */
function paramValue(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text);
    return typeof value === "number" || typeof value === "boolean" ? value : text;
  } catch {
    return text;
  }
}

async function loadSweep(id: string): Promise<{ run: Run; config: SweepConfig }> {
  const run = await call<Run>("get-run", { run_id: id });
  if (run.data.tags[KIND_TAG] !== "sweep") throw new ApiError(404, "NOT_FOUND", `run ${id} is not a sweep`);
  const text = await runFileText(run, "sweep.json");
  return { run, config: text ? (JSON.parse(text) as SweepConfig) : {} };
}

async function loadTrials(sweep: Run): Promise<{ run: Run; trials: Run[] }> {
  const [run, trials] = await Promise.all([
    call<Run>("get-run", { run_id: sweep.info.run_id }),
    searchAll(sweep.info.experiment_id, `tags.\`${SWEEP_TAG}\` = '${sweep.info.run_id}'`),
  ]);
  return { run, trials };
}

export function SweepPage({ sweepId }: { sweepId: string }) {
  const base = useLoad(() => loadSweep(sweepId), [sweepId]);
  const live = useLoad(() => (base.data ? loadTrials(base.data.run) : Promise.resolve(null)), [base.data]);
  const run = live.data?.run ?? base.data?.run;
  const runs = live.data?.trials ?? [];
  // a sweep run stays RUNNING while it can take more trials (a random sweep without a
  // run_cap); the page follows it while a trial runs, or until the first trial appears
  const running =
    runs.some((r) => r.info.status === "RUNNING") || (run?.info.status === "RUNNING" && !!live.data && runs.length === 0);
  useEffect(() => {
    if (!running) return;
    const timer = window.setTimeout(live.reload, POLL_MS);
    return () => window.clearTimeout(timer);
  }, [running, live.data]);
  if (base.error) return <ErrorMessage error={base.error} />;
  if (live.error) return <ErrorMessage error={live.error} />;
  if (!base.data || !run) return <Loading />;
  const config = base.data.config;
  const metric = config.metric?.name ?? null;
  const maximize = config.metric?.goal === "maximize";
  const names = Object.entries(config.parameters ?? {})
    .filter(([, spec]) => !("value" in spec))
    .map(([name]) => name);
  const trials: Trial[] = runs
    .map((r) => {
      const value = metric ? r.data.metrics[metric] : undefined;
      return {
        run: r,
        trial: Number(r.data.tags[TRIAL_TAG] ?? 0),
        attempt: Number(r.data.tags[ATTEMPT_TAG] ?? 1),
        params: Object.fromEntries(names.map((n) => [n, paramValue(r.data.params[n])])),
        objective: value != null && Number.isFinite(value) ? value : null,
      };
    })
    .sort((a, b) => a.trial - b.trial || a.attempt - b.attempt);
  // the best as mlcore.sweep picks it: finished (or stopped early) trials with a value
  const candidates = trials.filter((t) => (t.run.info.status === "FINISHED" || t.run.info.status === "KILLED") && t.objective != null);
  const best = candidates.reduce<Trial | null>(
    (a, t) => (a === null || (maximize ? t.objective! > a.objective! : t.objective! < a.objective!) ? t : a),
    null,
  );
  const finished = trials.filter((t) => t.run.info.status === "FINISHED");
  const weights = importance(finished, names);
  const ranked = Object.entries(weights).sort((a, b) => b[1] - a[1]);
  return (
    <section>
      <p class="crumbs">
        <Link href={`/experiments/${run.info.experiment_id}`}>Experiment</Link> /
      </p>
      <h1>
        Sweep {run.info.name} <StatusBadge status={run.info.status} />
        {running && <span class="live">LIVE</span>}
      </h1>
      <dl class="facts">
        <dt>Sweep run</dt>
        <dd class="mono">
          <Link href={`/runs/${run.info.run_id}`}>{run.info.run_id}</Link>
        </dd>
        <dt>Method</dt>
        <dd>{config.method ?? run.data.tags["mlcore.sweep.method"] ?? ""}</dd>
        <dt>Objective</dt>
        <dd>{metric ? `${maximize ? "maximize" : "minimize"} ${metric}` : "none"}</dd>
        <dt>Trials</dt>
        <dd>
          {trials.length} ({finished.length} finished)
        </dd>
        <dt>Started</dt>
        <dd>{formatTime(run.info.start_time)}</dd>
      </dl>
      <h2>Best run</h2>
      {best ? (
        <p data-testid="best-run" class="panel">
          Trial {best.trial}: <Link href={`/runs/${best.run.info.run_id}`}>{best.run.info.name}</Link> — {metric} ={" "}
          <strong>{formatNumber(best.objective)}</strong>{" "}
          <span class="muted">({names.map((n) => `${n}=${formatNumber(best.params[n] as number) || String(best.params[n])}`).join(", ")})</span>
        </p>
      ) : (
        <p class="muted">No finished trial with a value yet.</p>
      )}
      {metric && (
        <>
          <h2>{metric} by trial</h2>
          <ObjectiveChart
            metric={metric}
            maximize={maximize}
            points={trials.map((t) => ({ trial: t.trial, value: t.objective, best: t === best, runId: t.run.info.run_id }))}
          />
          <p class="legend">Dots: each trial's value; gold line: the best so far; the gold dot is the best run.</p>
        </>
      )}
      <h2>Trials</h2>
      <table class="grid" data-testid="trials">
        <thead>
          <tr>
            <th>Trial</th>
            <th>Status</th>
            {names.map((n) => (
              <th key={n}>{n}</th>
            ))}
            {metric && <th>{metric}</th>}
            <th>Run</th>
          </tr>
        </thead>
        <tbody>
          {trials.map((t) => (
            <tr key={t.run.info.run_id} class={t === best ? "best" : ""} data-trial={t.trial}>
              <td>
                {t.trial}
                {t.attempt > 1 ? <span class="muted"> (attempt {t.attempt})</span> : null}
              </td>
              <td>
                <StatusBadge status={t.run.info.status} />
              </td>
              {names.map((n) => (
                <td key={n} class="mono">
                  {typeof t.params[n] === "number" ? formatNumber(t.params[n] as number) : String(t.params[n] ?? "")}
                </td>
              ))}
              {metric && <td class="mono">{formatNumber(t.objective)}</td>}
              <td>
                <Link href={`/runs/${t.run.info.run_id}`}>{t.run.info.name}</Link>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {metric && names.length > 0 && (
        <>
          <h2>Parallel coordinates</h2>
          <ParallelCoordinates
            metric={metric}
            maximize={maximize}
            axes={names}
            rows={finished.map((t) => ({ runId: t.run.info.run_id, values: t.params, objective: t.objective }))}
          />
          <h2>Parameter importance</h2>
          {ranked.length ? (
            <>
              <div class="bars" data-testid="importance">
                {ranked.map(([name, weight]) => (
                  <Fragment key={name}>
                    <span class="mono">{name}</span>
                    <span>
                      <span class="bar" style={{ display: "block", width: `${Math.max(1, weight * 100)}%` }} />
                    </span>
                    <span>{weight.toFixed(2)}</span>
                  </Fragment>
                ))}
              </div>
              <p class="legend">
                |Spearman rank correlation| of each parameter with {metric} over the finished trials (η for categorical
                parameters), scaled to sum to 1 — computed in the browser. <code>mlcore sweep show</code> gives Optuna's fANOVA.
              </p>
            </>
          ) : (
            <p class="muted">Needs three finished trials.</p>
          )}
        </>
      )}
    </section>
  );
}

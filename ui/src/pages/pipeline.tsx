// `/pipelines/<run_id>`: a pipeline run as a DAG of its tasks, coloured by status, refreshed
// while the run is live; cached and retried steps marked; a step's details, logs and outputs
// beside the graph, with a link to the step's own run.
import { useEffect } from "preact/hooks";
import { ApiError, call } from "../api";
import { ErrorMessage, Link, Loading, StatusBadge } from "../components";
import { useLoad } from "../data";
import { formatDuration, formatTime } from "../format";
import { setQuery, useLocation } from "../router";
import type { Run } from "../types";
import { Dag, type DagNode } from "../graph/dag";
import { PIPELINE_TAG, stepsOf, taskOf, taskStatus, upstream, type PipelineSpec, type Step } from "../pipeline/steps";
import { runFileText, searchAll } from "../registry/util";
import "../registry/registry.css";

const POLL_MS = 1500;

async function loadPipeline(runId: string): Promise<{ run: Run; spec: PipelineSpec | null }> {
  const run = await call<Run>("get-run", { run_id: runId });
  if (!run.data.tags[PIPELINE_TAG]) throw new ApiError(404, "NOT_FOUND", `run ${runId} is not a pipeline run`);
  const text = await runFileText(run, "pipeline.json");
  let spec: PipelineSpec | null = null;
  try {
    spec = text ? (JSON.parse(text) as PipelineSpec) : null;
  } catch {
    spec = null;
  }
  return { run, spec };
}

async function loadSteps(run: Run): Promise<{ run: Run; steps: Step[] }> {
  const [fresh, children] = await Promise.all([
    call<Run>("get-run", { run_id: run.info.run_id }),
    searchAll(run.info.experiment_id, `attributes.parent_run_id = '${run.info.run_id}'`),
  ]);
  return { run: fresh, steps: stepsOf(children) };
}

function duration(run: Run, now: number): number | null {
  return run.info.end_time ? run.info.end_time - run.info.start_time : run.info.status === "RUNNING" ? now - run.info.start_time : null;
}

export function PipelinePage({ runId }: { runId: string }) {
  const location = useLocation();
  const base = useLoad(() => loadPipeline(runId), [runId]);
  const live = useLoad(() => (base.data ? loadSteps(base.data.run) : Promise.resolve(null)), [base.data]);
  const run = live.data?.run ?? base.data?.run;
  const steps = live.data?.steps ?? [];
  const running = run?.info.status === "RUNNING" || steps.some((s) => s.status === "RUNNING");
  useEffect(() => {
    if (!running) return;
    const timer = window.setTimeout(live.reload, POLL_MS);
    return () => window.clearTimeout(timer);
  }, [running, live.data]);
  if (base.error) return <ErrorMessage error={base.error} />;
  if (!base.data || !run) return <Loading />;
  const spec = base.data.spec;
  const byTask = new Map<string, Step[]>();
  for (const step of steps) (byTask.get(step.task) ?? byTask.set(step.task, []).get(step.task)!).push(step);
  const taskNames = spec ? spec.tasks.map((t) => t.name) : [...byTask.keys()];
  const now = Date.now();
  const nodes: DagNode[] = taskNames.map((name) => {
    const own = byTask.get(name) ?? [];
    const status = own.length ? taskStatus(own) : run.info.status === "RUNNING" ? "PENDING" : "SKIPPED";
    const marks: string[] = [];
    if (own.some((s) => s.cachedFrom)) marks.push("cached");
    const retries = own.reduce((n, s) => n + Math.max(0, s.attempts - 1), 0);
    if (retries) marks.push(`retried ×${retries}`);
    if (own.length > 1) marks.push(`×${own.length}`);
    const took = own.length === 1 ? duration(own[0].run, now) : null;
    return {
      id: name,
      title: name,
      detail: [status.toLowerCase(), took != null ? formatDuration(took) : ""].filter(Boolean).join(" · "),
      kind: `step-${status.toLowerCase()}`,
      marks,
    };
  });
  const edges = spec ? spec.tasks.flatMap((t) => upstream(t).map((source) => ({ source, target: t.name }))) : [];
  const selected = location.query.get("step");
  const selectedSteps = selected ? (byTask.get(taskOf(selected)) ?? []) : [];
  return (
    <section>
      <p class="crumbs">
        <Link href={`/experiments/${run.info.experiment_id}`}>Experiment</Link> /
      </p>
      <h1>
        Pipeline {run.data.tags[PIPELINE_TAG]} <StatusBadge status={run.info.status} />
        {running && <span class="live" data-testid="live">LIVE</span>}
      </h1>
      <dl class="facts">
        <dt>Run</dt>
        <dd class="mono">
          <Link href={`/runs/${run.info.run_id}`}>{run.info.run_id}</Link>
        </dd>
        <dt>Started</dt>
        <dd>{formatTime(run.info.start_time)}</dd>
        <dt>Duration</dt>
        <dd>{formatDuration(duration(run, now))}</dd>
        <dt>Steps</dt>
        <dd data-testid="step-counts">
          {Object.entries(
            steps.reduce<Record<string, number>>((acc, s) => ({ ...acc, [s.status]: (acc[s.status] ?? 0) + 1 }), {}),
          )
            .map(([status, n]) => `${n} ${status.toLowerCase()}`)
            .join(", ") || "none yet"}
        </dd>
      </dl>
      {run.data.tags["mlcore.error"] && (
        <p class="error" role="alert">
          {run.data.tags["mlcore.error"]}
        </p>
      )}
      {!spec && <p class="muted">This run has no pipeline.json (an older mlcore): steps are shown without their edges.</p>}
      <div class="legend-row">
        {["pending", "running", "succeeded", "failed", "skipped"].map((s) => (
          <span key={s}>
            <span class={`swatch legend-${s}`} />
            {s}
          </span>
        ))}
      </div>
      <div class={selected ? "split" : ""}>
        <Dag
          nodes={nodes}
          edges={edges}
          selected={selected ? taskOf(selected) : null}
          onSelect={(name) => setQuery({ step: name === selected ? null : name })}
          label={`pipeline ${run.data.tags[PIPELINE_TAG]}`}
        />
        {selected && <StepPanel task={taskOf(selected)} steps={selectedSteps} now={now} />}
      </div>
    </section>
  );
}

function StepPanel({ task, steps, now }: { task: string; steps: Step[]; now: number }) {
  return (
    <aside class="panel" data-testid="step-panel">
      <h2>{task}</h2>
      {steps.length === 0 && <p class="muted">Not started.</p>}
      {steps.map((step) => (
        <StepDetails key={step.name} step={step} now={now} several={steps.length > 1} />
      ))}
    </aside>
  );
}

function StepDetails({ step, now, several }: { step: Step; now: number; several: boolean }) {
  const run = step.run;
  const attempts = Math.max(step.attempts, 1);
  const logs = useLoad(async () => {
    if (step.cachedFrom) return [];
    const texts = await Promise.all(
      Array.from({ length: attempts }, (_, i) => runFileText(run, `logs/attempt-${i + 1}.txt`)),
    );
    return texts.map((text, i) => ({ attempt: i + 1, text }));
  }, [run.info.run_id, attempts, step.status]);
  const values = step.outputs?.values ?? {};
  const artifacts = step.outputs?.artifacts ?? {};
  return (
    <div class="step-details" data-step={step.name}>
      {several && <h3>{step.name}</h3>}
      <p>
        <span class={`badge step-badge-${step.status.toLowerCase()}`} data-testid="step-status">
          {step.status}
        </span>
        {step.cachedFrom && <span class="mark mark-cached">cached</span>}
        {step.attempts > 1 && <span class="mark mark-retried">{step.attempts} attempts</span>}
      </p>
      <dl class="facts">
        <dt>Step run</dt>
        <dd class="mono">
          <Link href={`/runs/${run.info.run_id}`}>{run.info.run_id.slice(0, 12)}</Link>
        </dd>
        <dt>Duration</dt>
        <dd>{formatDuration(duration(run, now))}</dd>
        {step.cachedFrom && (
          <>
            <dt>Cached from</dt>
            <dd class="mono">
              <Link href={`/runs/${step.cachedFrom}`}>{step.cachedFrom.slice(0, 12)}</Link>
            </dd>
          </>
        )}
      </dl>
      {run.data.tags["mlcore.error"] && (
        <p class="error" role="alert">
          {run.data.tags["mlcore.error"]}
        </p>
      )}
      {Object.keys(run.data.params).length > 0 && (
        <>
          <h3>Inputs</h3>
          <table class="grid narrow">
            <tbody>
              {Object.entries(run.data.params).map(([k, v]) => (
                <tr key={k}>
                  <td class="mono">{k}</td>
                  <td class="mono wrap">{v}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {(Object.keys(values).length > 0 || Object.keys(artifacts).length > 0) && (
        <>
          <h3>Outputs</h3>
          <table class="grid narrow" data-testid="step-outputs">
            <tbody>
              {Object.entries(values).map(([k, v]) => (
                <tr key={k}>
                  <td class="mono">{k}</td>
                  <td class="mono wrap">{JSON.stringify(v)}</td>
                </tr>
              ))}
              {Object.entries(artifacts).map(([k, ref]) => (
                <tr key={k}>
                  <td class="mono">{k}</td>
                  <td class="mono wrap">
                    {ref.type ? `${ref.type}: ` : ""}
                    {ref.uri ?? ""}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {logs.data && logs.data.some((l) => l.text) && <h3>Logs</h3>}
      {logs.data?.map(
        (log) =>
          log.text && (
            <div key={log.attempt}>
              <p class="muted">attempt {log.attempt}</p>
              <pre class="log" data-testid="step-log">
                {log.text}
              </pre>
            </div>
          ),
      )}
    </div>
  );
}

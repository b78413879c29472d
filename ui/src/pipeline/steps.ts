// A pipeline run read back from the store: the tasks and their edges (the spec the runner
// logs as `pipeline.json`), and each task's step runs (nested runs tagged
// `mlcore.pipeline.step`) with their status, attempts, cache hits and outputs.
import type { Run } from "../types";

export const STEP_TAG = "mlcore.pipeline.step";
export const PIPELINE_TAG = "mlcore.pipeline.name";
const STATUS_TAG = "mlcore.pipeline.status";
const ATTEMPTS_TAG = "mlcore.pipeline.attempts";
const CACHED_FROM_TAG = "mlcore.pipeline.cached_from";
const OUTPUTS_TAG = "mlcore.pipeline.outputs";

interface ArgSpec {
  task?: string | null;
  collect?: string | null;
}

export interface TaskSpec {
  name: string;
  component: string;
  arguments?: Record<string, ArgSpec>;
  after?: string[];
  loop?: string | null;
  conditions?: { left: ArgSpec; right?: ArgSpec | null }[];
  exit_for?: string[] | null;
}

export interface PipelineSpec {
  name: string;
  description?: string | null;
  components?: Record<string, { name?: string }>;
  tasks: TaskSpec[];
}

export type StepStatus = "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED" | "SKIPPED" | "KILLED";

export interface Step {
  name: string;
  task: string;
  run: Run;
  status: StepStatus;
  attempts: number;
  cachedFrom: string | null;
  outputs: { values?: Record<string, unknown>; artifacts?: Record<string, { uri?: string; type?: string }>; file?: string } | null;
}

/** The tasks a task waits for: the tasks its arguments and conditions read, `after`, and
 * (an exit handler) the tasks it waits to end. */
export function upstream(task: TaskSpec): string[] {
  const args: ArgSpec[] = Object.values(task.arguments ?? {});
  for (const c of task.conditions ?? []) args.push(c.left, ...(c.right ? [c.right] : []));
  const names = args.flatMap((a) => [a.task, a.collect]).filter((n): n is string => !!n);
  return [...new Set([...names, ...(task.after ?? []), ...(task.exit_for ?? [])])];
}

export function taskOf(stepName: string): string {
  return stepName.replace(/\[\d+\]$/, "");
}

export function stepOf(run: Run): Step {
  const tags = run.data.tags;
  const tagged = tags[STATUS_TAG] as StepStatus | undefined;
  const fromRun: Record<string, StepStatus> = {
    RUNNING: "RUNNING",
    SCHEDULED: "PENDING",
    FINISHED: "SUCCEEDED",
    FAILED: "FAILED",
    KILLED: "KILLED",
    CRASHED: "FAILED",
  };
  let outputs: Step["outputs"] = null;
  try {
    outputs = tags[OUTPUTS_TAG] ? JSON.parse(tags[OUTPUTS_TAG]) : null;
  } catch {
    outputs = null;
  }
  const name = tags[STEP_TAG] ?? run.info.name;
  return {
    name,
    task: taskOf(name),
    run,
    status: run.info.status === "RUNNING" ? "RUNNING" : (tagged ?? fromRun[run.info.status] ?? "PENDING"),
    attempts: Number(tags[ATTEMPTS_TAG] ?? (run.info.status === "RUNNING" ? 1 : 0)),
    cachedFrom: tags[CACHED_FROM_TAG] ?? null,
    outputs,
  };
}

/** The latest run of each step (a resumed pipeline run holds older runs of some steps). */
export function stepsOf(children: Run[]): Step[] {
  const latest = new Map<string, Step>();
  const sorted = [...children].sort((a, b) => a.info.start_time - b.info.start_time);
  for (const run of sorted) {
    if (!run.data.tags[STEP_TAG]) continue;
    const step = stepOf(run);
    latest.set(step.name, step);
  }
  return [...latest.values()];
}

const ORDER: StepStatus[] = ["RUNNING", "FAILED", "KILLED", "SKIPPED", "PENDING", "SUCCEEDED"];

/** A task's status from its steps (a looped task has one an iteration). */
export function taskStatus(steps: Step[]): StepStatus {
  if (steps.length === 0) return "PENDING";
  for (const status of ORDER) if (steps.some((s) => s.status === status)) return status;
  return "PENDING";
}

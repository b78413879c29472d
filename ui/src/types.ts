// The shapes the server answers (mlcore.types as JSON); only the fields the UI reads.

export interface Experiment {
  experiment_id: string;
  name: string;
  artifact_location: string;
  lifecycle_stage: "active" | "deleted" | string;
  tags: Record<string, string>;
  description?: string | null;
  creation_time?: number | null;
  last_update_time?: number | null;
}

export type RunStatus = "RUNNING" | "SCHEDULED" | "FINISHED" | "FAILED" | "KILLED" | "CRASHED";

export interface RunInfo {
  run_id: string;
  experiment_id: string;
  name: string;
  status: RunStatus;
  start_time: number;
  end_time?: number | null;
  parent_run_id?: string | null;
  artifact_uri: string;
  lifecycle_stage: string;
  user?: string | null;
}

export interface Run {
  info: RunInfo;
  data: { params: Record<string, string>; metrics: Record<string, number>; tags: Record<string, string> };
  config: Record<string, unknown>;
}

export interface Page<T> {
  items: T[];
  next_page_token: string | null;
}

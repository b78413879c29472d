// Helpers the registry, artifacts, pipeline and sweep pages share.
import { ApiError, call, fetchFile } from "../api";
import type { Run } from "../types";

/** A string as a quoted literal of mlcore's filter language. */
export function quoted(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

export function formatBytes(size: number | null | undefined): string {
  if (size == null) return "";
  if (size < 1024) return `${size} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = size / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** A run's file's path under the artifact proxy (`/api/v1/artifact-files/<this>`), or null
 * when the run's artifacts are not served by this server. */
export function artifactPath(run: Run, file: string): string | null {
  const marker = "/api/v1/artifact-files/";
  const at = run.info.artifact_uri.indexOf(marker);
  if (at < 0) return null;
  return `${run.info.artifact_uri.slice(at + marker.length).replace(/\/+$/, "")}/${file}`;
}

/** A run's artifact file as text (null when it is not there). */
export async function runFileText(run: Run, file: string): Promise<string | null> {
  const path = artifactPath(run, file);
  if (path === null) return null;
  try {
    return await (await fetchFile(path)).text();
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

/** Runs by id (a run that is gone maps to null). */
export async function runsById(ids: string[]): Promise<Map<string, Run | null>> {
  const unique = [...new Set(ids)];
  const found = await Promise.all(
    unique.map((run_id) =>
      call<Run>("get-run", { run_id }).catch((error) => {
        if (error instanceof ApiError && error.status === 404) return null;
        throw error;
      }),
    ),
  );
  return new Map(unique.map((id, i) => [id, found[i]]));
}

/** Every run matching `filter` in one experiment (pages followed). */
export async function searchAll(experimentId: string, filter: string, orderBy?: string[]): Promise<Run[]> {
  const runs: Run[] = [];
  let page_token: string | null = null;
  do {
    const page: { items: Run[]; next_page_token: string | null } = await call("search-runs", {
      experiment_ids: [experimentId],
      filter,
      order_by: orderBy ?? null,
      max_results: 1000,
      page_token,
    });
    runs.push(...page.items);
    page_token = page.next_page_token;
  } while (page_token && runs.length < 50_000);
  return runs;
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.status === 403 ? `Not allowed: ${error.message}` : error.message;
  return error instanceof Error ? error.message : String(error);
}

// The runs table grouped by a param or tag: a row per value with its run count and the min,
// max and mean of a chosen metric (the server aggregates: group-runs); a group opens to list
// its runs.
import { useState } from "preact/hooks";
import { call } from "../api";
import { ErrorMessage, Link, Loading, StatusBadge } from "../components";
import { useLoad } from "../data";
import { formatNumber } from "../format";
import { setQuery } from "../router";
import type { Page, Run } from "../types";
import { derive, type Available } from "./columns";
import { andFilter, quote, type SearchSpec } from "./window";

interface Group {
  value: string | null;
  count: number;
  min: number | null;
  max: number | null;
  mean: number | null;
}

export function GroupsView(props: { spec: SearchSpec; group: string; metric: string; available: Available | null }) {
  const { spec, group, metric } = props;
  const loaded = useLoad(
    () =>
      call<{ groups: Group[]; total: number }>("group-runs", {
        experiment_ids: spec.experiment_ids,
        filter: spec.filter,
        group_by: group,
        metric: metric || null,
      }),
    [spec.filter, group, metric],
  );
  // the metric keys: from run-columns, else from a page of the runs
  const sample = useLoad(
    () =>
      props.available
        ? Promise.resolve(props.available)
        : call<Page<Run>>("search-runs", { ...spec, max_results: 200 }).then((p) => derive(p.items)),
    [props.available, spec.filter],
  );
  const metrics = sample.data?.metrics ?? [];
  return (
    <>
      <div class="runs-actions">
        <span>
          Grouped by <b class="mono">{group}</b>
        </span>
        <label class="inline">
          Metric{" "}
          {metrics.length ? (
            <select aria-label="Aggregate metric" value={metric} onChange={(e) => setQuery({ metric: (e.target as HTMLSelectElement).value })}>
              {metrics.map((m) => (
                <option value={m}>{m}</option>
              ))}
            </select>
          ) : (
            <input
              aria-label="Aggregate metric"
              value={metric}
              onChange={(e) => setQuery({ metric: (e.target as HTMLInputElement).value })}
            />
          )}
        </label>
        <button type="button" onClick={() => setQuery({ group: null, metric: null })}>
          Ungroup
        </button>
      </div>
      {loaded.error ? (
        <p class="error filter-error" role="alert" data-testid="filter-error">
          {(loaded.error as Error).message}
        </p>
      ) : null}
      {loaded.loading && !loaded.data ? <Loading /> : null}
      {loaded.data && (
        <table class="grid groups" data-testid="groups">
          <thead>
            <tr>
              <th>{group}</th>
              <th>Runs</th>
              <th>min {metric}</th>
              <th>max {metric}</th>
              <th>mean {metric}</th>
            </tr>
          </thead>
          <tbody>
            {loaded.data.groups.map((g) => (
              <GroupRow spec={spec} group={group} row={g} />
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function GroupRow({ spec, group, row }: { spec: SearchSpec; group: string; row: Group }) {
  const [open, setOpen] = useState(false);
  const label = row.value ?? "(none)";
  return (
    <>
      <tr data-group={label}>
        <td>
          <button type="button" class="expander" aria-expanded={open} onClick={() => setOpen(!open)}>
            {open ? "▾" : "▸"} {label}
          </button>
        </td>
        <td class="num" data-testid="group-count">
          {row.count}
        </td>
        <td class="num">{formatNumber(row.min)}</td>
        <td class="num">{formatNumber(row.max)}</td>
        <td class="num">{formatNumber(row.mean)}</td>
      </tr>
      {open && (
        <tr>
          <td colSpan={5}>
            <GroupRuns spec={spec} group={group} value={row.value} />
          </td>
        </tr>
      )}
    </>
  );
}

function GroupRuns({ spec, group, value }: { spec: SearchSpec; group: string; value: string | null }) {
  const [entity, ...rest] = group.split(".");
  const key = rest.join(".");
  const ident = `${entity}.\`${key}\``;
  const condition = value == null ? `${ident} IS NULL` : `${ident} = ${quote(value)}`;
  const loaded = useLoad(
    () => call<Page<Run>>("search-runs", { ...spec, filter: andFilter(spec.filter, condition), max_results: 200 }),
    [spec.filter, spec.order_by, group, value],
  );
  if (loaded.error) return <ErrorMessage error={loaded.error} />;
  if (!loaded.data) return <Loading />;
  return (
    <ul class="group-runs">
      {loaded.data.items.map((run) => (
        <li>
          <StatusBadge status={run.info.status} /> <Link href={`/runs/${encodeURIComponent(run.info.run_id)}`}>{run.info.name}</Link>
        </li>
      ))}
      {loaded.data.next_page_token && <li class="muted">… more (filter to narrow)</li>}
    </ul>
  );
}

// `/experiments/<id>`: the runs table. Virtualised rows (only the visible ones are in the
// DOM), pages loaded as the user scrolls, sorting and filtering done by the store, a column
// picker, grouping with aggregates, nested runs, live refresh of running runs, selection →
// compare, CSV/Parquet export. The view lives in the URL query.
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ApiError, call } from "../api";
import { ErrorMessage, Link, Loading, StatusBadge } from "../components";
import { useLoad } from "../data";
import { navigate, setQuery, useLocation, withQuery } from "../router";
import type { Experiment, Run } from "../types";
import {
  ATTRIBUTE_IDS,
  FIXED,
  column,
  defaults,
  derive,
  parseOrder,
  type Available,
  type Column,
} from "../runs/columns";
import { allRuns, andFilter, childrenOf, runsById, RunWindow, type SearchSpec } from "../runs/window";
import { downloadBlob, toCsv } from "../runs/export";
import { GroupsView } from "../runs/groups";
import "./runs.css";

export const ROW_HEIGHT = 32;
const OVERSCAN = 8;
const LIVE_MS = 3000;

interface Child {
  run: Run;
  depth: 1;
}

export function RunsPage({ experimentId }: { experimentId: string }) {
  const location = useLocation();
  const q = location.query;
  const filter = q.get("filter") ?? "";
  const orderBy = q.get("order_by") ?? "";
  const group = q.get("group") ?? "";
  const metric = q.get("metric") ?? "";
  const selected = useMemo(() => new Set((q.get("selected") ?? "").split(",").filter(Boolean)), [q.get("selected")]);
  const experiment = useLoad(() => call<Experiment>("get-experiment", { experiment_id: experimentId }), [experimentId]);
  const [serverColumns, setServerColumns] = useState<Available | null>(null);
  useEffect(() => {
    call<Available>("run-columns", { experiment_ids: [experimentId] }).then(setServerColumns, () => setServerColumns(null));
  }, [experimentId]);

  // the table loads while the experiment does (one round trip less before the first rows)
  if (experiment.error) return <ErrorMessage error={experiment.error} />;
  const spec: SearchSpec = {
    experiment_ids: [experimentId],
    filter: filter || null,
    order_by: orderBy || null,
  };
  return (
    <section class="runs-page">
      <h1>
        <Link href="/">Experiments</Link> / {experiment.data?.name ?? "…"}
      </h1>
      <Toolbar filter={filter} />
      {group ? (
        <GroupsView spec={spec} group={group} metric={metric} available={serverColumns} />
      ) : (
        <RunsTable
          key={`${filter}\n${orderBy}`}
          spec={spec}
          experimentId={experimentId}
          nested={!filter}
          serverColumns={serverColumns}
          selected={selected}
        />
      )}
    </section>
  );
}

function Toolbar({ filter }: { filter: string }) {
  const [text, setText] = useState(filter);
  useEffect(() => setText(filter), [filter]);
  return (
    <form
      class="toolbar"
      onSubmit={(event) => {
        event.preventDefault();
        setQuery({ filter: text.trim() });
      }}
    >
      <input
        name="filter"
        class="filter-box"
        aria-label="Filter runs"
        placeholder="Filter, e.g. metrics.acc > 0.9 and params.model = 'xgb'"
        value={text}
        onInput={(event) => setText((event.target as HTMLInputElement).value)}
      />
      <button type="submit">Filter</button>
      {filter && (
        <button type="button" onClick={() => setQuery({ filter: null })}>
          Clear
        </button>
      )}
    </form>
  );
}

function RunsTable(props: {
  spec: SearchSpec;
  experimentId: string;
  nested: boolean;
  serverColumns: Available | null;
  selected: Set<string>;
}) {
  const { spec, experimentId, nested, selected } = props;
  const location = useLocation();
  const [, setTick] = useState(0);
  const rerender = () => setTick((t) => t + 1);
  const search: SearchSpec = nested ? { ...spec, filter: andFilter(spec.filter, "attributes.parent_run_id IS NULL") } : spec;
  const source = useMemo(() => new RunWindow(search, rerender), []);
  const [children, setChildren] = useState(new Map<string, Run[]>());
  const probed = useRef(new Set<string>());
  const [expanded, setExpanded] = useState<string[]>([]);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  const scroller = useRef<HTMLDivElement>(null);
  const [exporting, setExporting] = useState<string | null>(null);

  useEffect(() => {
    void source.start();
    return () => source.close();
  }, [source]);
  useEffect(() => {
    const element = scroller.current;
    if (!element) return;
    const measure = () => setHeight(element.clientHeight);
    measure();
    window.addEventListener("resize", measure);
    return () => window.removeEventListener("resize", measure);
  }, [source.count != null]);

  // display rows: top-level rows with the children of expanded parents right below them
  const expandedAt = useMemo(() => {
    const at: { index: number; runs: Run[] }[] = [];
    for (const id of expanded) {
      const kids = children.get(id);
      if (!kids) continue;
      for (let i = 0; i < (source.count ?? 0); i++) {
        const run = source.row(i);
        if (run?.info.run_id === id) {
          at.push({ index: i, runs: kids });
          break;
        }
      }
    }
    return at.sort((a, b) => a.index - b.index);
  }, [expanded, children, source.count]);
  const extra = expandedAt.reduce((n, e) => n + e.runs.length, 0);
  const total = (source.count ?? 0) + extra;

  function rowAt(display: number): { top: number; child?: Child } {
    let shift = 0;
    for (const e of expandedAt) {
      const parentDisplay = e.index + shift;
      if (display <= parentDisplay) break;
      if (display <= parentDisplay + e.runs.length) return { top: -1, child: { run: e.runs[display - parentDisplay - 1], depth: 1 } };
      shift += e.runs.length;
    }
    return { top: display - shift };
  }

  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(total - 1, Math.ceil((scrollTop + height) / ROW_HEIGHT) + OVERSCAN);
  const visible: { display: number; run: Run | undefined; depth: number }[] = [];
  for (let d = first; d <= last; d++) {
    const at = rowAt(d);
    visible.push(at.child ? { display: d, run: at.child.run, depth: 1 } : { display: d, run: source.row(at.top), depth: 0 });
  }

  // load what is visible (after a jump, only the pages at the landing place)
  useEffect(() => {
    if (source.count == null) return;
    const timer = window.setTimeout(() => {
      const tops = visible.map((v) => rowAt(v.display).top).filter((t) => t >= 0);
      if (tops.length) source.ensure(Math.min(...tops), Math.max(...tops));
    }, 30);
    return () => window.clearTimeout(timer);
  });

  // which visible parents have children (one query per batch of new top-level runs)
  useEffect(() => {
    if (!nested) return;
    const fresh = visible
      .filter((v) => v.depth === 0 && v.run && !probed.current.has(v.run.info.run_id))
      .map((v) => v.run!.info.run_id);
    if (!fresh.length) return;
    fresh.forEach((id) => probed.current.add(id));
    childrenOf(experimentId, fresh).then(
      (found) => found.size && setChildren((old) => new Map([...old, ...found])),
      () => undefined,
    );
  });

  // running runs on screen refresh every few seconds
  const runningIds = visible.filter((v) => v.run?.info.status === "RUNNING").map((v) => v.run!.info.run_id);
  const runningKey = runningIds.join(",");
  useEffect(() => {
    if (!runningIds.length) return;
    const timer = window.setInterval(() => {
      runsById(runningIds).then((fresh) => {
        source.replace(fresh);
        setChildren((old) => {
          const byId = new Map(fresh.map((r) => [r.info.run_id, r]));
          const next = new Map<string, Run[]>();
          for (const [parent, kids] of old) next.set(parent, kids.map((k) => byId.get(k.info.run_id) ?? k));
          return next;
        });
      }, () => undefined);
    }, LIVE_MS);
    return () => window.clearInterval(timer);
  }, [runningKey]);

  const available = props.serverColumns ?? derive(source.loaded());
  const columnIds = (location.query.get("columns") ?? "").split(",").filter(Boolean);
  const chosen = columnIds.length ? [...FIXED, ...columnIds.filter((id) => !FIXED.includes(id))] : defaults(available);
  const columns = chosen.map(column).filter((c): c is Column => c != null);
  // fixed widths: the header and every (absolutely placed) row line up exactly
  const widths = [36, ...columns.map((c) => (c.id === "attributes.run_name" ? 260 : c.id === "attributes.start_time" ? 175 : 130))];
  const template = widths.map((w) => `${w}px`).join(" ");
  const rowWidth = widths.reduce((a, b) => a + b, 0);
  const order = parseOrder(spec.order_by ?? "");

  function toggleSort(c: Column) {
    if (!c.sortKey) return;
    const next = order && order.key === c.sortKey ? (order.ascending ? `${c.sortKey} DESC` : `${c.sortKey} ASC`) : `${c.sortKey} DESC`;
    setQuery({ order_by: next });
  }

  function toggleSelected(id: string) {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setQuery({ selected: [...next].join(",") });
  }

  function jump(row: number) {
    if (scroller.current) scroller.current.scrollTop = Math.max(0, row - 1) * ROW_HEIGHT;
  }

  async function exportCsv() {
    setExporting("Exporting…");
    try {
      const runs = await allRuns(spec, (n) => setExporting(`Exporting… ${n} runs`));
      downloadBlob(new Blob([toCsv(runs, columns)], { type: "text/csv" }), "runs.csv");
    } finally {
      setExporting(null);
    }
  }

  async function exportParquet() {
    setExporting("Exporting…");
    try {
      const response = await fetch("/api/v1/export-runs", {
        method: "POST",
        headers: exportHeaders(),
        body: JSON.stringify({ ...spec, columns: columns.map((c) => c.id) }),
      });
      if (!response.ok) throw new ApiError(response.status, "EXPORT", "the export failed");
      downloadBlob(await response.blob(), "runs.parquet");
    } finally {
      setExporting(null);
    }
  }

  if (source.error instanceof ApiError && source.count == null) {
    return (
      <p class="error filter-error" role="alert" data-testid="filter-error">
        {source.error.message}
      </p>
    );
  }
  if (source.count == null) return <Loading />;
  const shownFirst = Math.floor(scrollTop / ROW_HEIGHT) + 1;
  return (
    <>
      <div class="runs-actions">
        <span data-testid="run-count">
          {source.count.toLocaleString("en-US")} {nested ? "top-level runs" : "runs"}
        </span>
        <ColumnPicker available={available} chosen={chosen} />
        <GroupPicker available={available} />
        <JumpBox total={total} onJump={jump} />
        <button type="button" onClick={() => void exportCsv()} disabled={!!exporting}>
          Export CSV
        </button>
        <button type="button" onClick={() => void exportParquet()} disabled={!!exporting}>
          Export Parquet
        </button>
        <button
          type="button"
          class="primary"
          disabled={selected.size < 1}
          onClick={() => navigate(withQuery("/compare", { runs: [...selected].join(",") }))}
        >
          Compare {selected.size ? `(${selected.size})` : ""}
        </button>
        {exporting && <span class="muted">{exporting}</span>}
      </div>
      {source.error ? <ErrorMessage error={source.error} /> : null}
      <div
        class="runs-scroller"
        ref={scroller}
        role="table"
        aria-label="Runs"
        aria-rowcount={total}
        data-testid="runs-table"
        onScroll={(event) => setScrollTop((event.currentTarget as HTMLDivElement).scrollTop)}
      >
        <div class="runs-row runs-head" role="row" style={{ gridTemplateColumns: template, width: `${rowWidth}px` }}>
          <span role="columnheader" />
          {columns.map((c) => {
            const sorted = order && c.sortKey && order.key === c.sortKey;
            return (
              <button
                type="button"
                role="columnheader"
                class={`runs-th ${c.sortKey ? "sortable" : ""}`}
                title={c.sortKey ? `sort by ${c.id}` : c.id}
                aria-sort={sorted ? (order!.ascending ? "ascending" : "descending") : "none"}
                onClick={() => toggleSort(c)}
              >
                {c.id.startsWith("attributes.") ? "" : <span class="col-kind">{c.id.split(".")[0]}.</span>}
                {c.label}
                {sorted ? (order!.ascending ? " ▲" : " ▼") : ""}
              </button>
            );
          })}
        </div>
        <div class="runs-body" style={{ height: `${total * ROW_HEIGHT}px`, width: `${rowWidth}px` }}>
          {visible.map(({ display, run, depth }) => (
            <div
              key={run ? run.info.run_id : `row-${display}`}
              role="row"
              aria-rowindex={display + 1}
              data-row={display + 1}
              class={`runs-row ${depth ? "child" : ""} ${run && selected.has(run.info.run_id) ? "selected" : ""}`}
              style={{ top: `${display * ROW_HEIGHT}px`, gridTemplateColumns: template, width: `${rowWidth}px` }}
              onClick={(event) => {
                if (!run || (event.target as HTMLElement).closest("input,button,a")) return;
                navigate(`/runs/${encodeURIComponent(run.info.run_id)}`);
              }}
            >
              {run ? (
                <>
                  <span role="cell">
                    <input
                      type="checkbox"
                      aria-label={`select ${run.info.name}`}
                      checked={selected.has(run.info.run_id)}
                      onChange={() => toggleSelected(run.info.run_id)}
                    />
                  </span>
                  {columns.map((c) => (
                    <Cell
                      column={c}
                      run={run}
                      depth={depth}
                      kids={depth === 0 ? children.get(run.info.run_id)?.length ?? 0 : 0}
                      open={expanded.includes(run.info.run_id)}
                      onToggle={() =>
                        setExpanded((old) =>
                          old.includes(run.info.run_id) ? old.filter((x) => x !== run.info.run_id) : [...old, run.info.run_id],
                        )
                      }
                    />
                  ))}
                </>
              ) : (
                <span role="cell" class="muted loading-row">
                  …
                </span>
              )}
            </div>
          ))}
        </div>
      </div>
      <p class="muted runs-position" data-testid="position">
        {total ? `Rows ${shownFirst.toLocaleString("en-US")}–${Math.min(total, shownFirst + Math.floor(height / ROW_HEIGHT)).toLocaleString("en-US")} of ${total.toLocaleString("en-US")}` : "No runs match."}
      </p>
    </>
  );
}

function exportHeaders(): Record<string, string> {
  const out: Record<string, string> = { "Content-Type": "application/json" };
  const token = window.localStorage.getItem("mlcore.token");
  if (token) out["Authorization"] = `Bearer ${token}`;
  return out;
}

function Cell(props: { column: Column; run: Run; depth: number; kids: number; open: boolean; onToggle: () => void }) {
  const { column: c, run } = props;
  if (c.id === "attributes.run_name")
    return (
      <span role="cell" class="run-name" style={{ paddingLeft: `${props.depth * 20}px` }}>
        {props.kids > 0 ? (
          <button
            type="button"
            class="expander"
            aria-expanded={props.open}
            aria-label={`${props.open ? "collapse" : "expand"} ${run.info.name} (${props.kids} child runs)`}
            onClick={props.onToggle}
          >
            {props.open ? "▾" : "▸"} {props.kids}
          </button>
        ) : props.depth ? (
          <span class="muted">↳ </span>
        ) : null}
        <Link href={`/runs/${encodeURIComponent(run.info.run_id)}`}>{run.info.name}</Link>
      </span>
    );
  if (c.id === "attributes.status")
    return (
      <span role="cell">
        <StatusBadge status={run.info.status} />
      </span>
    );
  const text = c.text(run);
  return (
    <span role="cell" class={c.id.startsWith("metrics.") ? "num" : ""} title={text} data-col={c.id}>
      {text}
    </span>
  );
}

function ColumnPicker({ available, chosen }: { available: Available; chosen: string[] }) {
  const groups: [string, string[]][] = [
    ["attributes", ATTRIBUTE_IDS.filter((id) => !FIXED.includes(id))],
    ["params", available.params.map((k) => `params.${k}`)],
    ["metrics", available.metrics.map((k) => `metrics.${k}`)],
    ["tags", available.tags.map((k) => `tags.${k}`)],
  ];
  function toggle(id: string) {
    const next = chosen.includes(id) ? chosen.filter((x) => x !== id) : [...chosen, id];
    setQuery({ columns: next.filter((x) => !FIXED.includes(x)).join(",") });
  }
  return (
    <details class="picker">
      <summary>Columns</summary>
      <div class="picker-body" role="group" aria-label="Columns">
        {groups.map(([name, ids]) =>
          ids.length ? (
            <fieldset>
              <legend>{name}</legend>
              {ids.map((id) => (
                <label>
                  <input type="checkbox" checked={chosen.includes(id)} onChange={() => toggle(id)} /> {id.slice(name.length + 1)}
                </label>
              ))}
            </fieldset>
          ) : null,
        )}
      </div>
    </details>
  );
}

function GroupPicker({ available }: { available: Available }) {
  const options = [...available.params.map((k) => `params.${k}`), ...available.tags.map((k) => `tags.${k}`)];
  return (
    <label class="inline">
      Group by{" "}
      <select
        aria-label="Group by"
        value=""
        onChange={(event) => setQuery({ group: (event.target as HTMLSelectElement).value, metric: available.metrics[0] ?? null })}
      >
        <option value="">—</option>
        {options.map((o) => (
          <option value={o}>{o}</option>
        ))}
      </select>
    </label>
  );
}

function JumpBox({ total, onJump }: { total: number; onJump: (row: number) => void }) {
  const [text, setText] = useState("");
  return (
    <form
      class="inline"
      onSubmit={(event) => {
        event.preventDefault();
        const row = Number(text.replace(/[ ,_]/g, ""));
        if (Number.isFinite(row) && row >= 1) onJump(Math.min(row, total));
      }}
    >
      <input
        aria-label="Go to row"
        placeholder="Go to row"
        size={9}
        value={text}
        onInput={(event) => setText((event.target as HTMLInputElement).value)}
      />
    </form>
  );
}

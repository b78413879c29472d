// `/`: the experiments — name, number of runs, last activity — with a search box (by name).
// Counts come from experiment-summaries; a server without it is asked count-runs instead.
import { useState } from "preact/hooks";
import { ApiError, call } from "../api";
import { ErrorMessage, Link, Loading } from "../components";
import { useLoad } from "../data";
import { formatTime } from "../format";
import { setQuery, useLocation } from "../router";
import type { Experiment, Page, Run } from "../types";

export function ExperimentsPage() {
  const location = useLocation();
  const search = location.query.get("q") ?? "";
  const [text, setText] = useState(search);
  const loaded = useLoad(loadSummaries, []);
  const needle = search.toLowerCase();
  const shown = (loaded.data ?? []).filter((e) => !needle || e.name.toLowerCase().includes(needle));
  return (
    <section>
      <h1>Experiments</h1>
      <form
        class="toolbar"
        onSubmit={(event) => {
          event.preventDefault();
          setQuery({ q: text });
        }}
      >
        <input
          name="q"
          placeholder="Search experiments by name"
          value={text}
          onInput={(event) => setText((event.target as HTMLInputElement).value)}
        />
        <button type="submit">Search</button>
      </form>
      {loaded.error ? <ErrorMessage error={loaded.error} /> : null}
      {loaded.loading && !loaded.data ? <Loading /> : null}
      {loaded.data && (
        <table class="grid" data-testid="experiments">
          <thead>
            <tr>
              <th>Name</th>
              <th>ID</th>
              <th class="exp-count">Runs</th>
              <th>Last activity</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((e) => (
              <tr key={e.experiment_id}>
                <td>
                  <Link href={`/experiments/${encodeURIComponent(e.experiment_id)}`}>{e.name}</Link>
                </td>
                <td class="mono">{e.experiment_id}</td>
                <td class="exp-count" data-testid="run-count">
                  {e.run_count ?? ""}
                </td>
                <td>{formatTime(e.last_activity ?? e.last_update_time)}</td>
                <td>{formatTime(e.creation_time)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {loaded.data && shown.length === 0 && <p class="muted">No experiments match.</p>}
    </section>
  );
}

interface Summary extends Experiment {
  run_count?: number | null;
  last_activity?: number | null;
}

async function loadSummaries(): Promise<Summary[]> {
  try {
    return await call<Summary[]>("experiment-summaries", { experiment_ids: null });
  } catch (error) {
    if (!(error instanceof ApiError) || ![403, 404, 405].includes(error.status)) throw error;
  }
  const found = await call<Experiment[]>("search-experiments", { view: "active" });
  return Promise.all(
    found.map(async (e) => {
      const [counted, latest] = await Promise.all([
        call<{ count: number }>("count-runs", { experiment_ids: [e.experiment_id] }),
        call<Page<Run>>("search-runs", { experiment_ids: [e.experiment_id], max_results: 1 }),
      ]);
      const run = latest.items[0]?.info;
      const last = Math.max(e.last_update_time ?? 0, run?.end_time ?? 0, run?.start_time ?? 0);
      return { ...e, run_count: counted.count, last_activity: last || null };
    }),
  );
}

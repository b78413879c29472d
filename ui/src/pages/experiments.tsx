// `/`: the experiments, with a search box (by name).
import { useState } from "preact/hooks";
import { call } from "../api";
import { ErrorMessage, Link, Loading } from "../components";
import { useLoad } from "../data";
import { formatTime } from "../format";
import { setQuery, useLocation } from "../router";
import type { Experiment } from "../types";

export function ExperimentsPage() {
  const location = useLocation();
  const search = location.query.get("q") ?? "";
  const [text, setText] = useState(search);
  const loaded = useLoad(() => call<Experiment[]>("search-experiments", { view: "active" }), []);
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
              <th>Created</th>
              <th>Last update</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((e) => (
              <tr key={e.experiment_id}>
                <td>
                  <Link href={`/experiments/${encodeURIComponent(e.experiment_id)}`}>{e.name}</Link>
                </td>
                <td class="mono">{e.experiment_id}</td>
                <td>{formatTime(e.creation_time)}</td>
                <td>{formatTime(e.last_update_time)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {loaded.data && shown.length === 0 && <p class="muted">No experiments match.</p>}
    </section>
  );
}

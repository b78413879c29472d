// Params and latest metrics side by side, one column per run; rows whose values differ are
// highlighted, and "Only differences" hides the rest.
import { useState } from "preact/hooks";
import { Link } from "../components";
import { formatNumber } from "../format";
import type { Run } from "../types";
import type { Column } from "./columns";

export function DiffTable({ runs, columns }: { runs: Run[]; columns: Column[] }) {
  const [onlyDiff, setOnlyDiff] = useState(false);
  const shown = onlyDiff ? columns.filter((c) => c.differs) : columns;
  return (
    <div>
      <label class="chart-controls">
        <input type="checkbox" name="only-differences" checked={onlyDiff} onChange={(e) => setOnlyDiff((e.target as HTMLInputElement).checked)} />
        Only differences ({columns.filter((c) => c.differs).length} of {columns.length})
      </label>
      <div class="diff-scroll">
        <table class="grid diff" data-testid="compare-table">
          <thead>
            <tr>
              <th>Name</th>
              {runs.map((r) => (
                <th key={r.info.run_id}>
                  <Link href={`/runs/${r.info.run_id}`}>{r.info.name}</Link>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {shown.map((c) => (
              <tr key={c.id} class={c.differs ? "differs" : ""} data-column={c.id} data-differs={c.differs ? "1" : "0"}>
                <th class="mono">{c.id}</th>
                {c.values.map((v, i) => (
                  <td key={i}>{v === undefined ? <span class="muted">—</span> : typeof v === "number" ? formatNumber(v) : v}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

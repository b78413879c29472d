// The run's tags: shown, and with write scope set or deleted through the API (a read token
// gets the server's 403, shown next to the form).
import { useState } from "preact/hooks";
import { call } from "../api";
import { ErrorMessage } from "../components";

export function TagEditor(props: { runId: string; tags: Record<string, string>; onChanged: () => void }) {
  const [key, setKey] = useState("");
  const [value, setValue] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const run = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      props.onChanged();
      return true;
    } catch (e) {
      setError(e);
      return false;
    } finally {
      setBusy(false);
    }
  };
  // the MLflow API's bookkeeping (`mlcore.mlflow.*`) is not the user's: not shown
  const entries = Object.entries(props.tags)
    .filter(([k]) => !k.startsWith("mlcore.mlflow."))
    .sort(([a], [b]) => a.localeCompare(b));
  return (
    <div data-testid="tags">
      <table class="grid kv">
        <tbody>
          {entries.map(([k, v]) => (
            <tr key={k}>
              <th class="mono">{k}</th>
              <td class="wrap">{v}</td>
              <td class="actions">
                <button type="button" onClick={() => { setKey(k); setValue(v); }} title={`edit ${k}`}>
                  Edit
                </button>{" "}
                <button type="button" disabled={busy} title={`delete ${k}`} onClick={() => run(() => call("delete-tag", { run_id: props.runId, key: k }))}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form
        class="toolbar"
        onSubmit={async (e) => {
          e.preventDefault();
          if (!key.trim()) return;
          if (await run(() => call("set-tags", { run_id: props.runId, tags: { [key.trim()]: value } }))) {
            setKey("");
            setValue("");
          }
        }}
      >
        <input name="tag-key" placeholder="tag key" value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} />
        <input name="tag-value" placeholder="value" value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
        <button type="submit" disabled={busy}>Set tag</button>
      </form>
      {error ? <ErrorMessage error={error} /> : null}
    </div>
  );
}

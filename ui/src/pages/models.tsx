// The model registry: `/models` (every model, its latest versions and aliases),
// `/models/<name>` (its versions) and `/models/<name>/versions/<n>` (one version, with the
// edits a write-scope token may make: aliases, stage, tags, description).
import { useState } from "preact/hooks";
import type { ComponentChildren } from "preact";
import { ApiError, call } from "../api";
import { ErrorMessage, Link, Loading } from "../components";
import { useLoad } from "../data";
import { formatTime } from "../format";
import { setQuery, useLocation } from "../router";
import type { Page } from "../types";
import { STAGES, type ModelStage, type ModelVersion, type RegisteredModel } from "../registry/types";
import { errorText, quoted } from "../registry/util";
import "../registry/registry.css";

const modelHref = (name: string) => `/models/${encodeURIComponent(name)}`;
const versionHref = (name: string, version: number) => `${modelHref(name)}/versions/${version}`;

export function StageBadge({ stage }: { stage: string }) {
  return <span class={`badge stage-${stage.toLowerCase()}`}>{stage}</span>;
}

function AliasChips({ aliases }: { aliases: string[] }) {
  return (
    <>
      {aliases.map((alias) => (
        <span key={alias} class="chip" data-alias={alias}>
          @{alias}
        </span>
      ))}
    </>
  );
}

async function allModels(): Promise<RegisteredModel[]> {
  const models: RegisteredModel[] = [];
  let page_token: string | null = null;
  do {
    const page: Page<RegisteredModel> = await call("search-registered-models", {
      filter: null,
      order_by: ["name ASC"],
      max_results: 1000,
      page_token,
    });
    models.push(...page.items);
    page_token = page.next_page_token;
  } while (page_token);
  return models;
}

export function ModelsPage() {
  const location = useLocation();
  const search = location.query.get("q") ?? "";
  const [text, setText] = useState(search);
  const loaded = useLoad(allModels, []);
  const needle = search.toLowerCase();
  const shown = (loaded.data ?? []).filter((m) => !needle || m.name.toLowerCase().includes(needle));
  return (
    <section>
      <h1>Models</h1>
      <form
        class="toolbar"
        onSubmit={(event) => {
          event.preventDefault();
          setQuery({ q: text });
        }}
      >
        <input
          name="q"
          placeholder="Search models by name"
          value={text}
          onInput={(event) => setText((event.target as HTMLInputElement).value)}
        />
        <button type="submit">Search</button>
      </form>
      {loaded.error ? <ErrorMessage error={loaded.error} /> : null}
      {loaded.loading && !loaded.data ? <Loading /> : null}
      {loaded.data && (
        <table class="grid" data-testid="models">
          <thead>
            <tr>
              <th>Name</th>
              <th>Latest versions</th>
              <th>Aliases</th>
              <th>Description</th>
              <th>Last update</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((m) => (
              <tr key={m.name}>
                <td>
                  <Link href={modelHref(m.name)}>{m.name}</Link>
                </td>
                <td>
                  {m.latest_versions.map((v) => (
                    <span key={v.version} class="version-pill">
                      <Link href={versionHref(m.name, v.version)}>v{v.version}</Link> <StageBadge stage={v.stage} />
                    </span>
                  ))}
                </td>
                <td>
                  {Object.entries(m.aliases).map(([alias, version]) => (
                    <span key={alias} class="chip" data-alias={alias}>
                      @{alias} → v{version}
                    </span>
                  ))}
                </td>
                <td class="wrap">{m.description ?? ""}</td>
                <td>{formatTime(m.last_update_time)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {loaded.data && shown.length === 0 && (
        <p class="muted">{loaded.data.length ? "No models match." : "No registered models yet."}</p>
      )}
    </section>
  );
}

async function versionsOf(name: string): Promise<ModelVersion[]> {
  const page: Page<ModelVersion> = await call("search-model-versions", {
    filter: `name = ${quoted(name)}`,
    order_by: ["version DESC"],
    max_results: 1000,
    page_token: null,
  });
  return page.items;
}

export function ModelPage({ name }: { name: string }) {
  const loaded = useLoad(
    () => Promise.all([call<RegisteredModel>("get-registered-model", { name }), versionsOf(name)]),
    [name],
  );
  if (loaded.error) return <ErrorMessage error={loaded.error} />;
  if (!loaded.data) return <Loading />;
  const [model, versions] = loaded.data;
  return (
    <section>
      <p class="crumbs">
        <Link href="/models">Models</Link> /
      </p>
      <h1>{model.name}</h1>
      <DescriptionEditor
        text={model.description}
        save={(description) => call("update-registered-model", { name, description })}
        onSaved={loaded.reload}
      />
      <h2>Tags</h2>
      <TagsEditor
        tags={model.tags}
        set={(tags) => call("set-registered-model-tags", { name, tags })}
        remove={(key) => call("delete-registered-model-tag", { name, key })}
        onSaved={loaded.reload}
      />
      <h2>Versions</h2>
      <table class="grid" data-testid="versions">
        <thead>
          <tr>
            <th>Version</th>
            <th>Stage</th>
            <th>Aliases</th>
            <th>Source run</th>
            <th>Created</th>
            <th>Tags</th>
            <th>Description</th>
          </tr>
        </thead>
        <tbody>
          {versions.map((v) => (
            <tr key={v.version} data-version={v.version}>
              <td>
                <Link href={versionHref(name, v.version)}>Version {v.version}</Link>
              </td>
              <td>
                <StageBadge stage={v.stage} />
              </td>
              <td>
                <AliasChips aliases={v.aliases} />
              </td>
              <td class="mono">{v.run_id ? <Link href={`/runs/${v.run_id}`}>{v.run_id.slice(0, 8)}</Link> : ""}</td>
              <td>{formatTime(v.creation_time)}</td>
              <td>
                {Object.entries(v.tags).map(([k, value]) => (
                  <span key={k} class="chip">
                    {k}={value}
                  </span>
                ))}
              </td>
              <td class="wrap">{v.description ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {versions.length === 0 && <p class="muted">No versions yet.</p>}
    </section>
  );
}

/** An edit form's outcome line: the server's refusal (403 for a read token) or nothing. */
function useAction(onDone: () => void) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      onDone();
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setBusy(false);
    }
  };
  const shown: ComponentChildren = error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
  return { run, busy, shown };
}

export function ModelVersionPage({ name, version }: { name: string; version: string }) {
  const number = Number(version);
  const valid = Number.isInteger(number) && number >= 1;
  const loaded = useLoad(
    () =>
      valid
        ? call<ModelVersion>("get-model-version", { name, version: number })
        : Promise.reject(new ApiError(404, "NOT_FOUND", `model ${name} has no version ${version}`)),
    [name, version],
  );
  if (loaded.error) return <ErrorMessage error={loaded.error} />;
  if (!loaded.data) return <Loading />;
  const v = loaded.data;
  return (
    <section>
      <p class="crumbs">
        <Link href="/models">Models</Link> / <Link href={modelHref(name)}>{name}</Link> /
      </p>
      <h1>
        {name} · version {v.version} <StageBadge stage={v.stage} />
      </h1>
      <dl class="facts">
        <dt>Source run</dt>
        <dd class="mono">{v.run_id ? <Link href={`/runs/${v.run_id}`}>{v.run_id}</Link> : "—"}</dd>
        <dt>Source</dt>
        <dd class="mono">{v.source}</dd>
        <dt>Status</dt>
        <dd>{v.status}</dd>
        <dt>Created</dt>
        <dd>
          {formatTime(v.creation_time)}
          {v.user ? ` by ${v.user}` : ""}
        </dd>
        <dt>Last update</dt>
        <dd>{formatTime(v.last_update_time)}</dd>
      </dl>
      <h2>Aliases</h2>
      <AliasEditor version={v} onSaved={loaded.reload} />
      <h2>Stage</h2>
      <StageEditor version={v} onSaved={loaded.reload} />
      <h2>Tags</h2>
      <TagsEditor
        tags={v.tags}
        set={(tags) => call("set-model-version-tags", { name, version: v.version, tags })}
        remove={(key) => call("delete-model-version-tag", { name, version: v.version, key })}
        onSaved={loaded.reload}
      />
      <h2>Description</h2>
      <DescriptionEditor
        text={v.description}
        save={(description) => call("update-model-version", { name, version: v.version, description })}
        onSaved={loaded.reload}
      />
    </section>
  );
}

function AliasEditor({ version, onSaved }: { version: ModelVersion; onSaved: () => void }) {
  const [alias, setAlias] = useState("");
  const action = useAction(() => {
    setAlias("");
    onSaved();
  });
  return (
    <div data-testid="aliases">
      <p>
        {version.aliases.length === 0 && <span class="muted">No aliases. </span>}
        {version.aliases.map((a) => (
          <span key={a} class="chip" data-alias={a}>
            @{a}{" "}
            <button
              class="chip-remove"
              title={`remove alias ${a}`}
              aria-label={`Remove alias ${a}`}
              disabled={action.busy}
              onClick={() => action.run(() => call("delete-model-alias", { name: version.name, alias: a }))}
            >
              ×
            </button>
          </span>
        ))}
      </p>
      <form
        class="toolbar"
        onSubmit={(event) => {
          event.preventDefault();
          if (alias.trim())
            action.run(() => call("set-model-alias", { name: version.name, alias: alias.trim(), version: version.version }));
        }}
      >
        <input
          name="alias"
          aria-label="New alias"
          placeholder="alias, e.g. champion"
          value={alias}
          onInput={(event) => setAlias((event.target as HTMLInputElement).value)}
        />
        <button type="submit" disabled={action.busy}>
          Set alias
        </button>
        <span class="muted">(moves the alias here from any other version)</span>
      </form>
      {action.shown}
    </div>
  );
}

function StageEditor({ version, onSaved }: { version: ModelVersion; onSaved: () => void }) {
  const [stage, setStage] = useState<ModelStage>(version.stage);
  const [archive, setArchive] = useState(false);
  const action = useAction(onSaved);
  return (
    <div data-testid="stage">
      <form
        class="toolbar"
        onSubmit={(event) => {
          event.preventDefault();
          action.run(() =>
            call("transition-stage", { name: version.name, version: version.version, stage, archive_existing: archive }),
          );
        }}
      >
        <label>
          Move to{" "}
          <select name="stage" value={stage} onChange={(event) => setStage((event.target as HTMLSelectElement).value as ModelStage)}>
            {STAGES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          <input type="checkbox" name="archive_existing" checked={archive} onChange={(event) => setArchive((event.target as HTMLInputElement).checked)} />{" "}
          archive the versions now in that stage
        </label>
        <button type="submit" disabled={action.busy}>
          Transition
        </button>
      </form>
      {action.shown}
    </div>
  );
}

export function TagsEditor(props: {
  tags: Record<string, string>;
  set: (tags: Record<string, string>) => Promise<unknown>;
  remove: (key: string) => Promise<unknown>;
  onSaved: () => void;
}) {
  const [key, setKey] = useState("");
  const [value, setValue] = useState("");
  const action = useAction(() => {
    setKey("");
    setValue("");
    props.onSaved();
  });
  const entries = Object.entries(props.tags);
  return (
    <div data-testid="tags">
      {entries.length === 0 ? (
        <p class="muted">No tags.</p>
      ) : (
        <table class="grid narrow">
          <tbody>
            {entries.map(([k, v]) => (
              <tr key={k} data-tag={k}>
                <td class="mono">{k}</td>
                <td class="wrap">{v}</td>
                <td>
                  <button aria-label={`Remove tag ${k}`} disabled={action.busy} onClick={() => action.run(() => props.remove(k))}>
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form
        class="toolbar"
        onSubmit={(event) => {
          event.preventDefault();
          if (key.trim()) action.run(() => props.set({ [key.trim()]: value }));
        }}
      >
        <input name="tag_key" aria-label="Tag key" placeholder="key" value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} />
        <input name="tag_value" aria-label="Tag value" placeholder="value" value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
        <button type="submit" disabled={action.busy}>
          Set tag
        </button>
      </form>
      {action.shown}
    </div>
  );
}

export function DescriptionEditor(props: {
  text: string | null;
  save: (text: string | null) => Promise<unknown>;
  onSaved: () => void;
}) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState(props.text ?? "");
  const action = useAction(() => {
    setEditing(false);
    props.onSaved();
  });
  if (!editing)
    return (
      <div class="description" data-testid="description">
        <p class={props.text ? "wrap" : "muted"}>{props.text || "No description."}</p>
        <button
          onClick={() => {
            setText(props.text ?? "");
            setEditing(true);
          }}
        >
          Edit description
        </button>
      </div>
    );
  return (
    <form
      class="description"
      data-testid="description"
      onSubmit={(event) => {
        event.preventDefault();
        action.run(() => props.save(text.trim() ? text : null));
      }}
    >
      <textarea name="description" aria-label="Description" rows={4} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
      <div class="toolbar">
        <button type="submit" disabled={action.busy}>
          Save description
        </button>
        <button type="button" onClick={() => setEditing(false)}>
          Cancel
        </button>
      </div>
      {action.shown}
    </form>
  );
}

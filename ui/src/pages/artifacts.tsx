// Versioned artifacts: `/artifacts` (every collection, its latest version) and
// `/artifacts/<name>` (its versions, aliases, files, and the lineage graph: the runs that
// produced and used each version).
import { useState } from "preact/hooks";
import { call } from "../api";
import { ErrorMessage, Link, Loading } from "../components";
import { useLoad } from "../data";
import { formatTime } from "../format";
import { setQuery, useLocation } from "../router";
import type { Run } from "../types";
import { Dag, type DagNode } from "../graph/dag";
import type { LayoutEdge } from "../graph/layout";
import type { ArtifactVersion } from "../registry/types";
import { formatBytes, runsById } from "../registry/util";
import "../registry/registry.css";

const artifactHref = (name: string) => `/artifacts/${encodeURIComponent(name)}`;

export function ArtifactsPage() {
  const location = useLocation();
  const search = location.query.get("q") ?? "";
  const [text, setText] = useState(search);
  const loaded = useLoad(() => call<ArtifactVersion[]>("list-artifact-collections", { type: null }), []);
  const needle = search.toLowerCase();
  const shown = (loaded.data ?? []).filter(
    (a) => !needle || a.name.toLowerCase().includes(needle) || a.type.toLowerCase().includes(needle),
  );
  return (
    <section>
      <h1>Artifacts</h1>
      <form
        class="toolbar"
        onSubmit={(event) => {
          event.preventDefault();
          setQuery({ q: text });
        }}
      >
        <input
          name="q"
          placeholder="Search artifacts by name or type"
          value={text}
          onInput={(event) => setText((event.target as HTMLInputElement).value)}
        />
        <button type="submit">Search</button>
      </form>
      {loaded.error ? <ErrorMessage error={loaded.error} /> : null}
      {loaded.loading && !loaded.data ? <Loading /> : null}
      {loaded.data && (
        <table class="grid" data-testid="artifacts">
          <thead>
            <tr>
              <th>Name</th>
              <th>Type</th>
              <th>Latest version</th>
              <th>Aliases</th>
              <th>Size</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((a) => (
              <tr key={a.name}>
                <td>
                  <Link href={artifactHref(a.name)}>{a.name}</Link>
                </td>
                <td>{a.type}</td>
                <td>v{a.version}</td>
                <td>
                  {a.aliases.map((alias) => (
                    <span key={alias} class="chip">
                      @{alias}
                    </span>
                  ))}
                </td>
                <td>{formatBytes(a.size)}</td>
                <td>{formatTime(a.creation_time)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {loaded.data && shown.length === 0 && (
        <p class="muted">{loaded.data.length ? "No artifacts match." : "No versioned artifacts yet."}</p>
      )}
    </section>
  );
}

interface Collection {
  versions: ArtifactVersion[];
  /** per version: [producer run ids, consumer run ids] */
  runs: Map<number, [string[], string[]]>;
  byId: Map<string, Run | null>;
}

async function loadCollection(name: string): Promise<Collection> {
  const versions = await call<ArtifactVersion[]>("list-artifact-versions", { name });
  const pairs = await Promise.all(
    versions.map((v) => call<[string[], string[]]>("artifact-runs", { name, version: v.version })),
  );
  const runs = new Map(versions.map((v, i) => [v.version, pairs[i]]));
  const byId = await runsById(pairs.flatMap(([made, used]) => [...made, ...used]));
  return { versions, runs, byId };
}

/** The lineage of every version of a collection: producer run → version → consumer run. */
export function lineageGraph(name: string, data: Collection): { nodes: DagNode[]; edges: LayoutEdge[] } {
  const nodes = new Map<string, DagNode>();
  const edges: LayoutEdge[] = [];
  const runNode = (id: string) => {
    if (nodes.has(id)) return;
    const run = data.byId.get(id);
    nodes.set(id, {
      id,
      title: run ? run.info.name : "(deleted run)",
      detail: `run ${id.slice(0, 8)}${run ? " · " + run.info.status.toLowerCase() : ""}`,
      kind: "kind-run",
      href: run ? `/runs/${id}` : undefined,
    });
  };
  for (const v of data.versions) {
    const id = `${name}:v${v.version}`;
    nodes.set(id, {
      id,
      title: id,
      detail: [v.type, ...v.aliases.map((a) => "@" + a)].join(" "),
      kind: "kind-artifact",
      href: `${artifactHref(name)}?version=${v.version}`,
    });
    const [made, used] = data.runs.get(v.version) ?? [[], []];
    for (const run of made) {
      runNode(run);
      edges.push({ source: run, target: id });
    }
    for (const run of used) {
      runNode(run);
      edges.push({ source: id, target: run });
    }
  }
  return { nodes: [...nodes.values()], edges };
}

export function ArtifactPage({ name }: { name: string }) {
  const location = useLocation();
  const loaded = useLoad(() => loadCollection(name), [name]);
  if (loaded.error) return <ErrorMessage error={loaded.error} />;
  if (!loaded.data) return <Loading />;
  const data = loaded.data;
  const latest = data.versions[data.versions.length - 1];
  const picked = Number(location.query.get("version") ?? latest?.version);
  const version = data.versions.find((v) => v.version === picked) ?? latest;
  const graph = lineageGraph(name, data);
  const runLink = (id: string) => {
    const run = data.byId.get(id);
    return (
      <Link key={id} href={`/runs/${id}`} title={id}>
        {run ? run.info.name : id.slice(0, 8)}
      </Link>
    );
  };
  return (
    <section>
      <p class="crumbs">
        <Link href="/artifacts">Artifacts</Link> /
      </p>
      <h1>
        {name} <span class="muted">({latest?.type})</span>
      </h1>
      <h2>Versions</h2>
      <table class="grid" data-testid="artifact-versions">
        <thead>
          <tr>
            <th>Version</th>
            <th>Aliases</th>
            <th>Files</th>
            <th>Size</th>
            <th>Digest</th>
            <th>Produced by</th>
            <th>Used by</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {[...data.versions].reverse().map((v) => {
            const [made, used] = data.runs.get(v.version) ?? [[], []];
            return (
              <tr key={v.version} data-version={v.version} class={v.version === version?.version ? "picked" : ""}>
                <td>
                  <a
                    href={`${artifactHref(name)}?version=${v.version}`}
                    onClick={(event) => {
                      event.preventDefault();
                      setQuery({ version: String(v.version) });
                    }}
                  >
                    v{v.version}
                  </a>
                </td>
                <td>
                  {v.aliases.map((a) => (
                    <span key={a} class="chip">
                      @{a}
                    </span>
                  ))}
                </td>
                <td>{v.files.length}</td>
                <td>{formatBytes(v.size)}</td>
                <td class="mono" title={v.digest}>
                  {v.digest.slice(0, 12)}
                </td>
                <td>{made.map(runLink)}</td>
                <td class="run-links">{used.map(runLink)}</td>
                <td>{formatTime(v.creation_time)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {version && (
        <>
          <h2>
            Files of v{version.version}
            {version.description ? <span class="muted"> — {version.description}</span> : null}
          </h2>
          <table class="grid" data-testid="artifact-files">
            <thead>
              <tr>
                <th>Name</th>
                <th>Size</th>
                <th>Digest (sha256) or reference</th>
              </tr>
            </thead>
            <tbody>
              {version.files.map((f) => (
                <tr key={f.path}>
                  <td class="mono">{f.path}</td>
                  <td>{formatBytes(f.size)}</td>
                  <td class="mono">{f.sha256 ?? f.ref ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {Object.keys(version.metadata).length > 0 && (
            <>
              <h2>Metadata</h2>
              <pre class="mono">{JSON.stringify(version.metadata, null, 2)}</pre>
            </>
          )}
        </>
      )}
      <h2>Lineage</h2>
      <p class="legend">Runs (blue) produced the versions (purple) they point to; a version points to the runs that used it. Click a run to open it.</p>
      <Dag nodes={graph.nodes} edges={graph.edges} label={`lineage of ${name}`} />
    </section>
  );
}

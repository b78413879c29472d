// The shell: the header, the token prompt, and which page each path shows.
import { useEffect, useState } from "preact/hooks";
import type { ComponentChildren } from "preact";
import { AUTH_NEEDED, setToken, token } from "./api";
import { Link, NotFound } from "./components";
import { match, useLocation, type Location } from "./router";
import { ExperimentsPage } from "./pages/experiments";
import { ModelPage, ModelsPage, ModelVersionPage } from "./pages/models";
import { ArtifactPage, ArtifactsPage } from "./pages/artifacts";
import { PipelinePage } from "./pages/pipeline";
import { SweepPage } from "./pages/sweep";
import { RunPage } from "./pages/run";
import { ComparePage } from "./pages/compare";
import { RunsPage } from "./pages/runs";

/** A page: the path pattern it answers and how it renders. Pages add themselves here. */
export interface PageRoute {
  pattern: string;
  render: (params: Record<string, string>, location: Location) => ComponentChildren;
}

export const ROUTES: PageRoute[] = [
  { pattern: "/", render: () => <ExperimentsPage /> },
  { pattern: "/models", render: () => <ModelsPage /> },
  { pattern: "/models/:name", render: (p) => <ModelPage name={p.name} /> },
  { pattern: "/models/:name/versions/:version", render: (p) => <ModelVersionPage name={p.name} version={p.version} /> },
  { pattern: "/artifacts", render: () => <ArtifactsPage /> },
  { pattern: "/artifacts/:name", render: (p) => <ArtifactPage name={p.name} /> },
  { pattern: "/pipelines/:run_id", render: (p) => <PipelinePage runId={p.run_id} /> },
  { pattern: "/sweeps/:sweep_id", render: (p) => <SweepPage sweepId={p.sweep_id} /> },
  { pattern: "/runs/:id", render: (p) => <RunPage runId={p.id} /> },
  { pattern: "/compare", render: () => <ComparePage /> },
  { pattern: "/experiments/:id", render: (p) => <RunsPage experimentId={p.id} /> },
];

export function App() {
  const location = useLocation();
  const [askToken, setAskToken] = useState(false);
  useEffect(() => {
    const ask = () => setAskToken(true);
    window.addEventListener(AUTH_NEEDED, ask);
    return () => window.removeEventListener(AUTH_NEEDED, ask);
  }, []);
  let page: ComponentChildren = <NotFound />;
  for (const route of ROUTES) {
    const params = match(route.pattern, location.path);
    if (params) {
      page = route.render(params, location);
      break;
    }
  }
  return (
    <>
      <header class="topbar">
        <Link href="/" class="brand">
          mlcore
        </Link>
        <nav>
          <Link href="/">Experiments</Link>
          <Link href="/models">Models</Link>
          <Link href="/artifacts">Artifacts</Link>
        </nav>
        <button class="link-button" onClick={() => setAskToken(true)} title="the API token this browser sends">
          {token() ? "Token ✓" : "Token"}
        </button>
      </header>
      {askToken && <TokenPrompt onDone={() => setAskToken(false)} />}
      <main key={location.path}>{page}</main>
    </>
  );
}

function TokenPrompt({ onDone }: { onDone: () => void }) {
  const [value, setValue] = useState(token() ?? "");
  return (
    <form
      class="token-prompt"
      onSubmit={(event) => {
        event.preventDefault();
        setToken(value.trim() || null);
        onDone();
        window.location.reload();
      }}
    >
      <label>
        This server needs a token (read scope browses, write scope edits):{" "}
        <input
          name="token"
          type="password"
          autocomplete="off"
          value={value}
          onInput={(event) => setValue((event.target as HTMLInputElement).value)}
        />
      </label>
      <button type="submit">Use token</button>
      <button type="button" onClick={onDone}>
        Cancel
      </button>
    </form>
  );
}

// The artifact versions the run produced and used (`artifacts-of-run`), linked to their
// collections.
import { call } from "../api";
import { ErrorMessage, Link, Loading } from "../components";
import { useLoad } from "../data";
import { formatBytes } from "./format";
import type { ArtifactVersion } from "./types";

export function Lineage({ runId }: { runId: string }) {
  const loaded = useLoad(() => call<[ArtifactVersion[], ArtifactVersion[]]>("artifacts-of-run", { run_id: runId }), [runId]);
  if (loaded.error) return <ErrorMessage error={loaded.error} />;
  if (!loaded.data) return <Loading />;
  const [produced, used] = loaded.data;
  return (
    <div class="lineage" data-testid="lineage">
      <VersionList title="Used" versions={used} />
      <VersionList title="Produced" versions={produced} />
    </div>
  );
}

function VersionList({ title, versions }: { title: string; versions: ArtifactVersion[] }) {
  return (
    <div>
      <h3>{title}</h3>
      {versions.length === 0 ? (
        <p class="muted">None.</p>
      ) : (
        <ul>
          {versions.map((v) => (
            <li key={`${v.name}:${v.version}`}>
              <Link href={`/artifacts/${encodeURIComponent(v.name)}`}>
                {v.name}:v{v.version}
              </Link>{" "}
              <span class="muted">
                {v.type} · {v.files.length} file{v.files.length === 1 ? "" : "s"} · {formatBytes(v.size)}
                {v.aliases.length ? ` · ${v.aliases.join(", ")}` : ""}
              </span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

// The models logged by the run (its `mlcore.logged_models` tag): flavor, signature, input
// example and requirements from each model's `mlcore-model.yaml`, and the registered versions
// made from them (`model-versions-of-run`).
import { call } from "../api";
import { ErrorMessage, Link } from "../components";
import { useLoad } from "../data";
import { formatTime } from "../format";
import { readHead } from "./files";
import type { LoggedModel, ModelVersion } from "./types";

/** The models the run's tags say it logged. */
export function loggedModels(tags: Record<string, string>): LoggedModel[] {
  try {
    const parsed = JSON.parse(tags["mlcore.logged_models"] ?? "[]");
    return Array.isArray(parsed) ? parsed.filter((m) => m && typeof m.artifact_path === "string") : [];
  } catch {
    return [];
  }
}

/** A top-level scalar of a YAML text (`key: value`). */
export function yamlScalar(yaml: string, key: string): string | null {
  const m = new RegExp(`^${key}:[ \\t]*(.+)$`, "m").exec(yaml);
  return m ? m[1].replace(/^['"]|['"]$/g, "") : null;
}

/** The indented block under a top-level key of a YAML text, as text. */
export function yamlBlock(yaml: string, key: string): string | null {
  const lines = yaml.split(/\r?\n/);
  const start = lines.findIndex((l) => l.startsWith(`${key}:`));
  if (start < 0) return null;
  const out: string[] = [];
  for (let i = start + 1; i < lines.length && (lines[i].startsWith(" ") || lines[i].startsWith("-")); i++) out.push(lines[i]);
  return out.length ? out.join("\n") : null;
}

async function readText(root: string, path: string, limit = 64 * 1024): Promise<string | null> {
  try {
    const { bytes } = await readHead(root, path, limit);
    return new TextDecoder().decode(bytes);
  } catch {
    return null;
  }
}

export function LoggedModels({ runId, root, tags }: { runId: string; root: string | null; tags: Record<string, string> }) {
  const models = loggedModels(tags);
  const versions = useLoad(() => call<ModelVersion[]>("model-versions-of-run", { run_id: runId }), [runId]);
  if (models.length === 0 && !(versions.data ?? []).length) return <p class="muted">No models logged.</p>;
  return (
    <div data-testid="models">
      {models.map((m) => (
        <ModelCard key={m.artifact_path} model={m} root={root} versions={(versions.data ?? []).filter((v) => v.source.replace(/\/+$/, "").endsWith(`/${m.artifact_path}`))} />
      ))}
      {versions.error ? <ErrorMessage error={versions.error} /> : null}
    </div>
  );
}

function ModelCard({ model, root, versions }: { model: LoggedModel; root: string | null; versions: ModelVersion[] }) {
  const meta = useLoad(async () => {
    if (root == null) return null;
    const base = `${model.artifact_path}`;
    const yaml = await readText(root, `${base}/mlcore-model.yaml`);
    const exampleName = yaml ? yamlScalar(yaml, "input_example") : null;
    const example = exampleName ? await readText(root, `${base}/${exampleName}`, 16 * 1024) : null;
    return { yaml, example };
  }, [root, model.artifact_path]);
  const yaml = meta.data?.yaml ?? "";
  const requirements = yamlBlock(yaml, "requirements");
  const signature = yamlBlock(yaml, "signature");
  return (
    <div class="model-card">
      <h3 class="mono">{model.artifact_path}</h3>
      <dl class="facts">
        <dt>Flavor</dt>
        <dd>{model.flavor}</dd>
        {yaml && yamlScalar(yaml, "framework") && (
          <>
            <dt>Framework</dt>
            <dd>
              {yamlScalar(yaml, "framework")} {yamlScalar(yaml, "framework_version") ?? ""}
            </dd>
          </>
        )}
        <dt>Registered</dt>
        <dd>
          {versions.length === 0
            ? "not registered"
            : versions.map((v) => (
                <span key={`${v.name}/${v.version}`} class="chip">
                  <Link href={`/models/${encodeURIComponent(v.name)}/versions/${v.version}`}>
                    {v.name} v{v.version}
                  </Link>{" "}
                  {v.stage !== "None" ? v.stage : ""} {v.aliases.map((a) => `@${a}`).join(" ")}{" "}
                  <span class="muted">{formatTime(v.creation_time)}</span>
                </span>
              ))}
        </dd>
      </dl>
      {signature && (
        <details open>
          <summary>Signature</summary>
          <pre class="preview-text">{signature}</pre>
        </details>
      )}
      {meta.data?.example && (
        <details>
          <summary>Input example</summary>
          <pre class="preview-text">{meta.data.example}</pre>
        </details>
      )}
      {requirements && (
        <details>
          <summary>Requirements</summary>
          <pre class="preview-text" data-testid="requirements">{requirements.replace(/^- /gm, "")}</pre>
        </details>
      )}
    </div>
  );
}


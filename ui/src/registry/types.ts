// The registry's and versioned artifacts' shapes as the server answers them (mlcore.types).

export type ModelStage = "None" | "Staging" | "Production" | "Archived";
export const STAGES: ModelStage[] = ["None", "Staging", "Production", "Archived"];

export interface ModelVersion {
  name: string;
  version: number;
  stage: ModelStage;
  aliases: string[];
  tags: Record<string, string>;
  description: string | null;
  source: string;
  run_id: string | null;
  status: string;
  creation_time: number | null;
  last_update_time: number | null;
  user: string | null;
}

export interface RegisteredModel {
  name: string;
  description: string | null;
  tags: Record<string, string>;
  aliases: Record<string, number>;
  latest_versions: ModelVersion[];
  creation_time: number | null;
  last_update_time: number | null;
}

export interface ArtifactFile {
  path: string;
  sha256: string | null;
  size: number | null;
  ref: string | null;
}

export interface ArtifactVersion {
  name: string;
  type: string;
  version: number;
  digest: string;
  description: string | null;
  metadata: Record<string, unknown>;
  aliases: string[];
  files: ArtifactFile[];
  size: number;
  producer_run_id: string | null;
  creation_time: number | null;
}

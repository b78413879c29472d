// The shapes of the run page's reads (mlcore.types as JSON); only the fields it shows.

export interface FileInfo {
  path: string;
  is_dir: boolean;
  size: number | null;
  sha256: string | null;
}

export interface ArtifactVersion {
  name: string;
  type: string;
  version: number;
  digest: string;
  description?: string | null;
  aliases: string[];
  files: { path: string; sha256: string; size: number }[];
  size: number;
  producer_run_id?: string | null;
  creation_time?: number | null;
}

export interface ModelVersion {
  name: string;
  version: number;
  stage: string;
  aliases: string[];
  source: string;
  run_id?: string | null;
  status: string;
  creation_time?: number | null;
}

/** An entry of the run's `mlcore.logged_models` tag. */
export interface LoggedModel {
  artifact_path: string;
  flavor: string;
  created?: string;
}

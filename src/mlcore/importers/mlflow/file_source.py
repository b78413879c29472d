"""Reading MLflow's file store (``mlruns/``) without writing a byte of it.

Layout: ``<experiment id>/meta.yaml`` (+ ``tags/``), ``<experiment id>/<run id>/`` with
``meta.yaml``, ``params/``, ``tags/``, ``metrics/<key>`` (lines ``timestamp value step``),
``inputs/<id>/meta.yaml`` pointing at ``<experiment id>/datasets/<id>/meta.yaml``, and
``artifacts/``; MLflow 3 logged models under ``<experiment id>/models/<model id>/``; the
registry under ``models/<name>/`` (``meta.yaml``, ``tags/``, ``aliases/``, ``version-<n>/``).
Keys holding ``/`` are nested folders.
"""

from __future__ import annotations

import os
from typing import Any

import yaml

from mlcore.importers.mlflow.artifact_files import ArtifactLocator, UnreachableArtifacts
from mlcore.importers.mlflow.records import (
    STATUS_BY_NUMBER,
    DatasetInput,
    LoggedModel,
    ModelVersionRecord,
    Problem,
    RegisteredModelRecord,
    RunRecord,
    SourceExperiment,
    SourceFile,
)

__all__ = ["DamagedRecord", "FileSource"]

_RESERVED = {".trash", "models", ".git"}


class DamagedRecord(Exception):
    """A run or model the source holds but cannot be read whole."""


def _yaml(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        loaded = yaml.safe_load(handle)
    if not isinstance(loaded, dict):
        raise DamagedRecord(f"{path} is not a YAML mapping")
    return loaded


def _key_files(directory: str) -> dict[str, str]:
    """``key -> text`` of a params/tags folder (nested folders for keys with ``/``)."""
    found: dict[str, str] = {}
    if not os.path.isdir(directory):
        return found
    for current, _dirs, names in os.walk(directory):
        for name in names:
            location = os.path.join(current, name)
            key = os.path.relpath(location, directory).replace(os.sep, "/")
            with open(location, encoding="utf-8") as handle:
                found[key] = handle.read()
    return found


def _metric_history(path: str) -> list[tuple[int, int, float]]:
    history: list[tuple[int, int, float]] = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            parts = line.split()
            if not parts:
                continue
            try:
                if len(parts) not in (2, 3):
                    raise ValueError(line)
                value = float(parts[1])
                step = int(parts[2]) if len(parts) == 3 else 0
                history.append((int(parts[0]), step, value))
            except ValueError:
                raise DamagedRecord(
                    f"metric file {path} line {number} is not 'timestamp value step': "
                    f"{line.strip()[:60]!r}"
                ) from None
    return history


class FileSource:
    """An MLflow ``mlruns`` folder, read-only."""

    kind = "MLflow file store"

    def __init__(self, directory: str, artifacts_root: str | None = None) -> None:
        self.directory = os.path.abspath(directory)
        self.display = self.directory
        self.locator = ArtifactLocator(artifacts_root, os.path.dirname(self.directory))
        self.problems: list[Problem] = []

    def close(self) -> None:
        """Nothing is held open."""

    # -- experiments and runs --------------------------------------------------------------
    def experiments(self) -> list[SourceExperiment]:
        found = []
        for name in sorted(os.listdir(self.directory)):
            meta_path = os.path.join(self.directory, name, "meta.yaml")
            if name in _RESERVED or not os.path.isfile(meta_path):
                continue
            try:
                meta = _yaml(meta_path)
                found.append(
                    SourceExperiment(
                        experiment_id=str(meta.get("experiment_id", name)),
                        name=str(meta["name"]),
                        lifecycle_stage=str(meta.get("lifecycle_stage") or "active"),
                        tags=_key_files(os.path.join(self.directory, name, "tags")),
                        creation_time=meta.get("creation_time"),
                    )
                )
            except (OSError, KeyError, yaml.YAMLError, DamagedRecord) as exc:
                self.problems.append(Problem(f"experiment {name}", str(exc)))
        return found

    def run_ids(self, experiment_id: str) -> list[str]:
        folder = os.path.join(self.directory, experiment_id)
        return sorted(
            name
            for name in os.listdir(folder)
            if name not in ("tags", "datasets", "models")
            and os.path.isfile(os.path.join(folder, name, "meta.yaml"))
        )

    def parent_ids(self, experiment_id: str) -> dict[str, str]:
        found = {}
        for run_id in self.run_ids(experiment_id):
            path = os.path.join(self.directory, experiment_id, run_id, "tags", "mlflow.parentRunId")
            if os.path.isfile(path):
                with open(path, encoding="utf-8") as handle:
                    found[run_id] = handle.read().strip()
        return found

    def run_states(self, experiment_id: str) -> dict[str, tuple[str, int | None, str]]:
        """run id -> (status, end time, artifact URI), to skip what was imported already."""
        found = {}
        for run_id in self.run_ids(experiment_id):
            try:
                meta = _yaml(os.path.join(self.directory, experiment_id, run_id, "meta.yaml"))
            except (OSError, yaml.YAMLError, DamagedRecord):
                continue
            status = meta.get("status", 3)
            name = STATUS_BY_NUMBER.get(status, str(status)) if isinstance(status, int) else status
            end = meta.get("end_time")
            found[run_id] = (
                str(name),
                None if end is None else int(end),
                str(meta.get("artifact_uri") or ""),
            )
        return found

    def read_run(self, experiment_id: str, run_id: str) -> RunRecord:
        """The whole run; raises :class:`DamagedRecord` when any part cannot be read."""
        folder = os.path.join(self.directory, experiment_id, run_id)
        try:
            meta = _yaml(os.path.join(folder, "meta.yaml"))
            tags = _key_files(os.path.join(folder, "tags"))
            status = meta.get("status", 3)
            record = RunRecord(
                run_id=str(meta.get("run_id") or meta.get("run_uuid") or run_id),
                experiment_id=experiment_id,
                name=str(meta.get("run_name") or tags.get("mlflow.runName") or run_id),
                status=STATUS_BY_NUMBER.get(status, str(status))
                if isinstance(status, int)
                else str(status),
                start_time=int(meta.get("start_time") or 0),
                end_time=None if meta.get("end_time") is None else int(meta["end_time"]),
                lifecycle_stage=str(meta.get("lifecycle_stage") or "active"),
                user=meta.get("user_id") or tags.get("mlflow.user"),
                artifact_uri=str(meta.get("artifact_uri") or ""),
                params=_key_files(os.path.join(folder, "params")),
                tags=tags,
            )
            metrics_dir = os.path.join(folder, "metrics")
            if os.path.isdir(metrics_dir):
                for current, _dirs, names in os.walk(metrics_dir):
                    for name in names:
                        location = os.path.join(current, name)
                        key = os.path.relpath(location, metrics_dir).replace(os.sep, "/")
                        record.metrics[key] = _metric_history(location)
            record.inputs = self._inputs(experiment_id, folder)
            record.files = self._run_files(record.artifact_uri, folder)
        except (OSError, KeyError, ValueError, yaml.YAMLError, UnreachableArtifacts) as exc:
            raise DamagedRecord(str(exc)) from None
        return record

    def _run_files(self, uri: str, folder: str) -> list[SourceFile]:
        local = os.path.join(folder, "artifacts")
        try:
            recorded = self.locator.local_dir(uri)
        except UnreachableArtifacts:
            recorded = local
        if not os.path.isdir(recorded) and os.path.isdir(local):
            recorded = local  # the mlruns folder was moved since the run was logged
        return self.locator.files(recorded)

    def _inputs(self, experiment_id: str, folder: str) -> list[DatasetInput]:
        inputs_dir = os.path.join(folder, "inputs")
        if not os.path.isdir(inputs_dir):
            return []
        found = []
        for input_id in sorted(os.listdir(inputs_dir)):
            link = _yaml(os.path.join(inputs_dir, input_id, "meta.yaml"))
            if link.get("source_type") != "DATASET":
                continue
            dataset = _yaml(
                os.path.join(
                    self.directory, experiment_id, "datasets", str(link["source_id"]), "meta.yaml"
                )
            )
            context = (link.get("tags") or {}).get("mlflow.data.context")
            found.append(
                DatasetInput(
                    name=str(dataset.get("name", "")),
                    digest=str(dataset.get("digest", "")),
                    source_type=dataset.get("source_type"),
                    source=dataset.get("source"),
                    schema=dataset.get("schema"),
                    profile=dataset.get("profile"),
                    context=context,
                )
            )
        return found

    # -- logged models and the registry --------------------------------------------------
    def logged_models(self) -> list[LoggedModel]:
        found = []
        for experiment in sorted(os.listdir(self.directory)):
            models_dir = os.path.join(self.directory, experiment, "models")
            if experiment in _RESERVED or not os.path.isdir(models_dir):
                continue
            for model_id in sorted(os.listdir(models_dir)):
                folder = os.path.join(models_dir, model_id)
                try:
                    meta = _yaml(os.path.join(folder, "meta.yaml"))
                    location = str(meta.get("artifact_location") or "")
                    local = os.path.join(folder, "artifacts")
                    try:
                        directory = self.locator.local_dir(location)
                    except UnreachableArtifacts:
                        directory = local
                    if not os.path.isdir(directory):
                        directory = local
                    found.append(
                        LoggedModel(
                            model_id=str(meta.get("model_id") or model_id),
                            experiment_id=experiment,
                            name=str(meta.get("name") or model_id),
                            source_run_id=meta.get("source_run_id"),
                            artifact_location=location,
                            files=self.locator.files(directory),
                            tags=_key_files(os.path.join(folder, "tags")),
                            params=_key_files(os.path.join(folder, "params")),
                        )
                    )
                except (OSError, ValueError, yaml.YAMLError, DamagedRecord) as exc:
                    self.problems.append(Problem(f"logged model {model_id}", str(exc)))
        return found

    def registered_models(self) -> list[RegisteredModelRecord]:
        registry = os.path.join(self.directory, "models")
        if not os.path.isdir(registry):
            return []
        found = []
        for folder_name in sorted(os.listdir(registry)):
            folder = os.path.join(registry, folder_name)
            try:
                meta = _yaml(os.path.join(folder, "meta.yaml"))
                model = RegisteredModelRecord(
                    name=str(meta.get("name") or folder_name),
                    description=meta.get("description") or None,
                    tags=_key_files(os.path.join(folder, "tags")),
                    aliases={
                        alias: int(version.strip())
                        for alias, version in _key_files(os.path.join(folder, "aliases")).items()
                    },
                )
                for entry in os.listdir(folder):
                    if entry.startswith("version-"):
                        model.versions.append(self._version(os.path.join(folder, entry)))
                model.versions.sort(key=lambda v: v.version)
                found.append(model)
            except (OSError, ValueError, yaml.YAMLError, DamagedRecord) as exc:
                self.problems.append(Problem(f"registered model {folder_name}", str(exc)))
        return found

    def _version(self, folder: str) -> ModelVersionRecord:
        meta = _yaml(os.path.join(folder, "meta.yaml"))
        return ModelVersionRecord(
            version=int(meta["version"]),
            source=str(meta.get("source") or ""),
            run_id=meta.get("run_id") or None,
            stage=str(meta.get("current_stage") or "None"),
            description=meta.get("description") or None,
            tags=_key_files(os.path.join(folder, "tags")),
            user=meta.get("user_id") or None,
            storage_location=meta.get("storage_location") or None,
            model_id=meta.get("model_id") or None,
        )

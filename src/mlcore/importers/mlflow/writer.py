"""Writing MLflow records into any mlcore store, incrementally and a run at a time.

A run is imported whole or not at all: it is read whole first (a damaged metric file or an
unreadable artifact skips it before anything is written), its artifact files are streamed to
the run's place in the destination (hashed on the way) before the run exists, then the run is
created with its params and tags, its metric history stored (batch ids make a retry store
each batch once), its files recorded with their sha256, and it is ended with MLflow's status
and end time and the ``mlcore.imported_from`` tag, which marks it complete. A run a failed
import left incomplete is taken up again by the next import; a complete one is skipped, so a
second import brings only what is new.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from mlcore import _config
from mlcore.errors import MlcoreError, NotFoundError
from mlcore.importers.mlflow.artifact_files import ArtifactLocator
from mlcore.importers.mlflow.file_source import DamagedRecord
from mlcore.importers.mlflow.records import (
    LoggedModel,
    Problem,
    RegisteredModelRecord,
    RunRecord,
    SourceExperiment,
    SourceFile,
)
from mlcore.importers.mlflow.system_tags import IMPORTED_FROM, input_messages, run_tags
from mlcore.stores import MetadataStore, RunUpdate, require_registry
from mlcore.tracking.dataset_inputs import log_dataset_inputs
from mlcore.types import FileInfo, Run
from mlcore.uris import join_uri

__all__ = ["ImportReport", "MlflowSourceReader", "write_import"]

#: progress(kind, amount): "runs" done (imported or skipped), "total" runs to look at
Progress = Callable[[str, int], None]

_POINTS_PER_BATCH = 200_000


class ArtifactFiles(Protocol):
    def put_stream(self, stream: Any, path: str) -> FileInfo: ...


class MlflowSourceReader(Protocol):
    """What both readers (file store, database) offer."""

    kind: str
    display: str
    problems: list[Problem]
    locator: ArtifactLocator

    def experiments(self) -> list[SourceExperiment]: ...

    def run_ids(self, experiment_id: str) -> list[str]: ...

    def parent_ids(self, experiment_id: str) -> dict[str, str]: ...

    def run_states(self, experiment_id: str) -> dict[str, tuple[str, int | None, str]]: ...

    def read_run(self, experiment_id: str, run_id: str) -> RunRecord: ...

    def logged_models(self) -> list[LoggedModel]: ...

    def registered_models(self) -> list[RegisteredModelRecord]: ...

    def close(self) -> None: ...


@dataclass
class ImportReport:
    """What an import did (or, with ``dry_run``, would do)."""

    source: str
    dry_run: bool = False
    experiments: int = 0
    runs: int = 0
    runs_unchanged: int = 0
    points: int = 0
    files: int = 0
    bytes: int = 0
    inputs: int = 0
    logged_models: int = 0
    registered_models: int = 0
    model_versions: int = 0
    problems: list[Problem] = field(default_factory=list)

    def rows(self) -> list[tuple[str, int]]:
        """The summary table: what was imported, how much."""
        return [
            ("experiments created", self.experiments),
            ("runs imported", self.runs),
            ("runs already imported", self.runs_unchanged),
            ("metric points", self.points),
            ("artifact files", self.files),
            ("artifact bytes", self.bytes),
            ("dataset inputs", self.inputs),
            ("logged models", self.logged_models),
            ("registered models", self.registered_models),
            ("model versions", self.model_versions),
            ("skipped (problems)", len(self.problems)),
        ]


class _Writer:
    def __init__(
        self,
        reader: MlflowSourceReader,
        store: MetadataStore,
        artifact_stores: Callable[[str], ArtifactFiles],
        report: ImportReport,
        progress: Progress,
    ) -> None:
        self.reader = reader
        self.store = store
        self.artifact_stores = artifact_stores
        self.report = report
        self.progress = progress
        self.experiments: dict[str, str] = {}  # MLflow experiment id -> mlcore's
        self.runs: dict[str, str] = {}  # imported run id -> its artifact URI in mlcore
        self.local_dirs: list[tuple[str, str]] = []  # source folder -> mlcore URI
        self.models: dict[str, str] = {}  # logged model id -> its URI in mlcore
        self.marker = f"mlflow:{reader.display}"

    # -- experiments -------------------------------------------------------------------------
    def experiment(self, source: SourceExperiment) -> str:
        name = _config.DEFAULT_EXPERIMENT if source.experiment_id == "0" else source.name
        found = self.store.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        self.report.experiments += 1
        if self.report.dry_run:
            return f"new:{name}"
        created = self.store.create_experiment(name, tags=source.tags)
        return created.experiment_id

    # -- runs --------------------------------------------------------------------------------
    def existing(self, run_id: str) -> Run | None:
        try:
            return self.store.get_run(run_id)
        except NotFoundError:
            return None

    def unchanged(self, run_id: str, state: tuple[str, int | None, str] | None) -> bool:
        """Whether the run was imported whole and has not changed in MLflow since (its status,
        end time and artifact URI as ``state``); such a run is not read again."""
        if state is None or state[0] in ("RUNNING", "SCHEDULED"):
            return False
        existing = self.existing(run_id)
        if (
            existing is None
            or not existing.data.tags.get(IMPORTED_FROM)
            or existing.info.status.value != state[0]
            or existing.info.end_time != state[1]
        ):
            return False
        self.runs[run_id] = existing.info.artifact_uri
        try:
            local = self.reader.locator.local_dir(state[2])
        except Exception:
            local = None
        if local:
            self.local_dirs.append((local.rstrip("/"), existing.info.artifact_uri))
        self.report.runs_unchanged += 1
        return True

    def run(self, experiment_id: str, record: RunRecord) -> None:
        existing = self.existing(record.run_id)
        self.report.runs += 1
        self.report.points += record.points
        self.report.files += len(record.files)
        self.report.bytes += sum(f.size for f in record.files)
        self.report.inputs += len(record.inputs)
        if self.report.dry_run:
            self.runs[record.run_id] = f"new-run:{record.run_id}"
            return
        if existing is not None:
            artifact_uri = existing.info.artifact_uri
        else:
            location = self.store.get_experiment(experiment_id).artifact_location
            artifact_uri = join_uri(location, record.run_id)
        try:
            infos = self.upload(artifact_uri, record.files)
        except (OSError, MlcoreError) as exc:
            self.skip(record, f"artifacts could not be copied: {exc}")
            return
        try:
            self.write_run(experiment_id, record, existing, infos)
        except MlcoreError as exc:
            self.skip(record, f"{exc}; the run is left deleted and taken up again next time")
            try:
                self.store.delete_run(record.run_id)
            except MlcoreError:
                pass
            return
        self.runs[record.run_id] = artifact_uri
        self._remember_dir(record, artifact_uri)

    def skip(self, record: RunRecord, reason: str) -> None:
        self.report.runs -= 1
        self.report.points -= record.points
        self.report.files -= len(record.files)
        self.report.bytes -= sum(f.size for f in record.files)
        self.report.inputs -= len(record.inputs)
        self.report.problems.append(Problem(f"run {record.run_id}", reason))

    def _remember_dir(self, record: RunRecord, artifact_uri: str) -> None:
        try:
            local = self.reader.locator.local_dir(record.artifact_uri)
        except Exception:
            return
        self.local_dirs.append((local.rstrip("/"), artifact_uri))

    def upload(self, root: str, files: list[SourceFile]) -> list[FileInfo]:
        if not files:
            return []
        artifacts = self.artifact_stores(root)
        infos = []
        for source in files:
            with open(source.location, "rb") as handle:
                info = artifacts.put_stream(handle, source.path)
            if info.size is not None and info.size != source.size:
                raise OSError(f"{source.path} changed while it was copied")
            infos.append(info)
        return infos

    def write_run(
        self, experiment_id: str, record: RunRecord, existing: Run | None, infos: list[FileInfo]
    ) -> None:
        store = self.store
        tags = run_tags(record.tags)
        parent = record.parent_run_id
        if parent is not None and parent not in self.runs and self.existing(parent) is None:
            parent = None
        if existing is None:
            store.create_run(
                experiment_id,
                name=record.name[:256],
                start_time=record.start_time,
                tags=tags,
                parent_run_id=parent,
                user=record.user,
                run_id=record.run_id,
                params=record.params,
            )
            done: dict[str, int] = {}
        else:
            if existing.info.lifecycle_stage.value == "deleted":
                store.restore_run(record.run_id)
            store.log_params(record.run_id, record.params)
            store.set_tags(record.run_id, tags)
            done = {
                key: store.metric_history(record.run_id, key).num_rows for key in record.metrics
            }
        points = [
            (record.run_id, key, value, timestamp, step)
            for key, history in record.metrics.items()
            for timestamp, step, value in history[done.get(key, 0) :]
        ]
        resumed = hashlib.sha256(repr(sorted(done.items())).encode()).hexdigest()[:12]
        for offset in range(0, len(points), _POINTS_PER_BATCH):
            chunk = points[offset : offset + _POINTS_PER_BATCH]
            store.log_metrics(
                chunk, batch_id=f"mlflow-import:{record.run_id}:{resumed}:{offset}:{len(chunk)}"
            )
        store.record_artifacts(record.run_id, infos)
        if record.inputs:  # dataset artifact versions the run used (again: the same ones)
            log_dataset_inputs(store, record.run_id, input_messages(record.inputs))
        terminal = record.status not in ("RUNNING", "SCHEDULED")
        store.update_runs(
            [
                RunUpdate(
                    record.run_id,
                    status=record.status if terminal else None,
                    end_time=record.end_time if terminal else None,
                    tags={IMPORTED_FROM: self.marker},
                )
            ]
        )
        if record.lifecycle_stage == "deleted":
            store.delete_run(record.run_id)

    # -- logged models -----------------------------------------------------------------------
    def logged_model(self, model: LoggedModel) -> None:
        run_uri = self.runs.get(model.source_run_id or "")
        if run_uri is None:
            self.report.problems.append(
                Problem(
                    f"logged model {model.model_id}",
                    f"its run {model.source_run_id} was not imported",
                )
            )
            return
        run_id = str(model.source_run_id)
        path = model.name
        if self.report.dry_run:
            self.report.logged_models += 1
            self.models[model.model_id] = join_uri(run_uri, path)
            return
        recorded = self.store.artifact_records(run_id)
        ours = {f"{path}/{f.path}" for f in model.files}
        if any(p.startswith(path + "/") or p == path for p in recorded if p not in ours):
            path = f"models/{model.model_id}"
        target = f"{path}/"
        self.models[model.model_id] = join_uri(run_uri, path)
        if all(target + f.path in recorded for f in model.files):
            return  # imported before
        try:
            infos = self.upload(join_uri(run_uri, path), model.files)
        except (OSError, MlcoreError) as exc:
            self.report.problems.append(Problem(f"logged model {model.model_id}", str(exc)))
            return
        self.store.record_artifacts(
            run_id, [info.model_copy(update={"path": target + info.path}) for info in infos]
        )
        self.store.set_tags(run_id, {f"mlcore.logged_model.{model.model_id}": path})
        self.report.logged_models += 1
        self.report.files += len(infos)
        self.report.bytes += sum(f.size for f in model.files)

    # -- the registry ------------------------------------------------------------------------
    def rewrite_source(self, source: str, run_id: str | None, model_id: str | None) -> str:
        if model_id and model_id in self.models:
            return self.models[model_id]
        if source.startswith("models:/m-"):
            found = self.models.get(source[len("models:/") :].split("/")[0])
            if found:
                return found
        if source.startswith("runs:/"):
            rid, _, rest = source[len("runs:/") :].partition("/")
            if rid in self.runs:
                return join_uri(self.runs[rid], rest) if rest else self.runs[rid]
        try:
            local = self.reader.locator.local_dir(source).rstrip("/")
        except Exception:
            return source
        for folder, uri in sorted(self.local_dirs, key=lambda m: -len(m[0])):
            if local == folder:
                return uri
            if local.startswith(folder + "/"):
                return join_uri(uri, posixpath.relpath(local, folder))
        return source

    def registered_model(self, model: RegisteredModelRecord) -> None:
        registry = require_registry(self.store)
        try:
            existing = registry.get_registered_model(model.name)
        except NotFoundError:
            existing = None
        new_versions = []
        for version in model.versions:
            if existing is not None:
                try:
                    registry.get_model_version(model.name, version.version)
                    continue
                except NotFoundError:
                    pass
            new_versions.append(version)
        if existing is None:
            self.report.registered_models += 1
        self.report.model_versions += len(new_versions)
        if self.report.dry_run:
            return
        if existing is None:
            registry.create_registered_model(
                model.name, description=model.description, tags=model.tags
            )
        else:
            if model.description and model.description != existing.description:
                registry.update_registered_model(model.name, description=model.description)
            if model.tags:
                registry.set_registered_model_tags(model.name, model.tags)
        for version in new_versions:
            self.model_version(model.name, version)
        for alias, number in model.aliases.items():
            try:
                registry.set_model_alias(model.name, alias, number)
            except MlcoreError as exc:
                self.report.problems.append(Problem(f"alias {model.name}@{alias}", str(exc)))

    def model_version(self, name: str, version: Any) -> None:
        registry = require_registry(self.store)
        source = self.rewrite_source(
            version.source or version.storage_location or "", version.run_id, version.model_id
        )
        run_id = version.run_id if version.run_id in self.runs else None
        placeholders = []
        while True:
            created = registry.create_model_version(
                name,
                source,
                run_id=run_id,
                tags=version.tags,
                description=version.description,
                user=version.user,
            )
            if created.version >= version.version:
                break
            placeholders.append(created.version)  # a gap MLflow left (a deleted version)
        for number in placeholders:
            registry.delete_model_version(name, number)
        if created.version != version.version:
            self.report.problems.append(
                Problem(
                    f"model version {name}/{version.version}",
                    f"imported as version {created.version}",
                )
            )
        if version.stage and version.stage != "None":
            registry.transition_model_version_stage(name, created.version, version.stage)


def write_import(
    reader: MlflowSourceReader,
    store: MetadataStore,
    artifact_stores: Callable[[str], ArtifactFiles],
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import everything ``reader`` holds into ``store``; see the module docstring."""
    report = ImportReport(source=f"{reader.kind} {reader.display}", dry_run=dry_run)
    tick = progress or (lambda _kind, _amount: None)
    writer = _Writer(reader, store, artifact_stores, report, tick)
    experiments = reader.experiments()
    plan: list[tuple[SourceExperiment, list[str]]] = [
        (experiment, reader.run_ids(experiment.experiment_id)) for experiment in experiments
    ]
    tick("total", sum(len(ids) for _, ids in plan))
    for experiment, run_ids in plan:
        destination = writer.experiment(experiment)
        parents = reader.parent_ids(experiment.experiment_id)
        states = reader.run_states(experiment.experiment_id)
        for run_id in _parents_first(run_ids, parents):
            if writer.unchanged(run_id, states.get(run_id)):
                tick("runs", 1)
                continue
            try:
                record = reader.read_run(experiment.experiment_id, run_id)
            except DamagedRecord as exc:
                report.problems.append(Problem(f"run {run_id}", str(exc)))
            else:
                writer.run(destination, record)
            tick("runs", 1)
        if experiment.lifecycle_stage == "deleted" and not dry_run:
            store.delete_experiment(destination)
    for model in reader.logged_models():
        writer.logged_model(model)
    for registered in reader.registered_models():
        writer.registered_model(registered)
    report.problems[:0] = reader.problems
    return report


def _parents_first(run_ids: list[str], parents: dict[str, str]) -> list[str]:
    """``run_ids`` with every parent before its children (MLflow allows any order)."""
    wanted = set(run_ids)
    ordered: list[str] = []
    seen: set[str] = set()

    def visit(run_id: str, depth: int = 0) -> None:
        if run_id in seen:
            return
        seen.add(run_id)
        parent = parents.get(run_id)
        if parent in wanted and depth < 100:
            visit(parent, depth + 1)
        ordered.append(run_id)

    for run_id in run_ids:
        visit(run_id)
    return ordered

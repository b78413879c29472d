"""A third-party store that implements tracking only: it passes the tracking suite, resolves
through the plugin registry, tracks runs, and says what it lacks when the model registry or
versioned artifacts are asked of it."""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

import mlcore
from mlcore import plugins
from mlcore.errors import PluginError, UnsupportedError
from mlcore.stores import (
    ArtifactVersionStore,
    MetadataStore,
    RegistryStore,
    TrackingStore,
    require_artifact_versions,
    require_registry,
    resolve_store,
)
from mlcore.stores.sql import SqlStore
from mlcore.testing import TrackingStoreConformance
from mlcore.uris import uri_scheme


class TrackingOnlyStore(TrackingStore):
    """``trackonly:///dir``: the tracking hooks of a SQLite file in ``dir``, nothing more."""

    schemes: ClassVar[tuple[str, ...]] = ("trackonly",)

    def __init__(self, uri: str) -> None:
        directory = uri.removeprefix("trackonly://")
        self._sql = SqlStore(f"sqlite:///{directory}/meta.db")
        self.default_artifact_root = self._sql.default_artifact_root
        self.display_name = f"store {uri!r}"

    @classmethod
    def from_uri(cls, uri: str, *, artifact_uri: str | None = None) -> TrackingOnlyStore:
        return cls(uri)

    def close(self) -> None:
        self._sql.close()


def _delegate(hook: str) -> Callable[..., Any]:
    def method(self: TrackingOnlyStore, *args: Any, **kwargs: Any) -> Any:
        return getattr(self._sql, hook)(*args, **kwargs)

    method.__name__ = hook
    return method


# every tracking hook (and the batch hooks that have defaults) goes to the SQLite store
for _hook in (TrackingStore.__abstractmethods__ - {"from_uri"}) | {"_create_runs", "_update_runs"}:
    setattr(TrackingOnlyStore, _hook, _delegate(_hook))
abc.update_abstractmethods(TrackingOnlyStore)


class TestTrackingOnlyStore(TrackingStoreConformance):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[TrackingStore]:
        store = TrackingOnlyStore(f"trackonly://{tmp_path}")
        yield store
        store.close()


def test_it_implements_tracking_only() -> None:
    assert not TrackingOnlyStore.__abstractmethods__
    assert issubclass(TrackingOnlyStore, TrackingStore)
    for other in (RegistryStore, ArtifactVersionStore, MetadataStore):
        assert not issubclass(TrackingOnlyStore, other)
    # the built-in stores implement all three
    assert issubclass(SqlStore, TrackingStore)
    assert issubclass(SqlStore, RegistryStore)
    assert issubclass(SqlStore, ArtifactVersionStore)


@pytest.fixture
def registered() -> Iterator[None]:
    plugins.register("mlcore.stores", "trackonly", TrackingOnlyStore)
    yield
    plugins.unregister("mlcore.stores", "trackonly")


def test_a_tracking_only_plugin_resolves_and_tracks(registered: None, tmp_path: Path) -> None:
    uri = f"trackonly://{tmp_path}"
    assert uri_scheme(uri) == "trackonly"
    store = resolve_store(uri)
    assert isinstance(store, TrackingOnlyStore)
    store.close()
    tracker = mlcore.Tracker(uri)
    try:
        run = tracker.start_run(experiment="tracked")
        run.log_params({"lr": 0.1})
        run.log_metric("loss", 0.5, step=1)
        run.end()
        assert tracker.get_run(run.id).data.metrics == {"loss": 0.5}
    finally:
        tracker.close()


def test_a_store_that_is_not_a_tracking_store_is_refused() -> None:
    class NotAStore:
        pass

    plugins.register("mlcore.stores", "notastore", NotAStore)
    try:
        with pytest.raises(PluginError, match="notastore"):
            resolve_store("notastore://x")
    finally:
        plugins.unregister("mlcore.stores", "notastore")


def test_require_names_the_store_and_the_missing_interface(tmp_path: Path) -> None:
    store = TrackingOnlyStore(f"trackonly://{tmp_path}")
    try:
        with pytest.raises(UnsupportedError) as registry_error:
            require_registry(store)
        message = str(registry_error.value)
        assert f"trackonly://{tmp_path}" in message
        assert "implements tracking only" in message
        assert "the model registry needs a store that implements mlcore.stores.RegistryStore" in (
            message
        )
        with pytest.raises(
            UnsupportedError,
            match="versioned artifacts needs a store that implements "
            "mlcore.stores.ArtifactVersionStore",
        ):
            require_artifact_versions(store)
    finally:
        store.close()
    full = SqlStore("sqlite:///:memory:")
    assert require_registry(full) is full
    assert require_artifact_versions(full) is full
    full.close()
    assert issubclass(UnsupportedError, mlcore.MlcoreError)
    assert mlcore.UnsupportedError is UnsupportedError


def test_the_registry_on_a_tracking_only_store_says_what_is_missing(tmp_path: Path) -> None:
    tracker = mlcore.Tracker(store=TrackingOnlyStore(f"trackonly://{tmp_path}"))
    try:
        with pytest.raises(UnsupportedError, match="RegistryStore"):
            mlcore.Registry(tracker=tracker)
    finally:
        tracker.close()


def test_versioned_artifacts_on_a_tracking_only_store_say_what_is_missing(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    tracker = mlcore.Tracker(store=TrackingOnlyStore(f"trackonly://{tmp_path}"))
    try:
        with tracker.start_run("exp") as run:
            artifact = mlcore.Artifact("processed", type="dataset")
            artifact.add_file(str(data))
            with pytest.raises(UnsupportedError, match="ArtifactVersionStore"):
                run.log_artifact(artifact)
            run.log_metric("still_logging", 1.0)  # the run itself is unharmed
        stored = tracker.get_run(run.id)
        assert stored.data.metrics["still_logging"] == 1.0
        assert stored.info.status.value == "FINISHED"
    finally:
        tracker.close()

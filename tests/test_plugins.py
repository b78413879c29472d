"""Plugin discovery through real entry points.

Third-party plugins are real distributions: a ``*.dist-info`` with ``entry_points.txt`` in a
directory put on ``sys.path``, exactly what ``pip install`` leaves behind.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from mlcore import Tracker, plugins
from mlcore.artifacts import ArtifactStore, resolve_artifact_store
from mlcore.artifacts.local import LocalArtifactStore
from mlcore.errors import PluginError, PluginNotFoundError
from mlcore.stores import MetadataStore, resolve_store
from mlcore.stores.sql import SqlStore

Installer = Callable[..., Path]


@pytest.fixture(autouse=True)
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("MLCORE_DISABLE_PLUGINS", raising=False)
    plugins.reset()
    yield
    plugins.reset()


@pytest.fixture
def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Installer:
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))

    def install_dist(name: str, groups: dict[str, dict[str, str]], modules: dict[str, str]) -> Path:
        for module, source in modules.items():
            (site / f"{module}.py").write_text(textwrap.dedent(source))
        info = site / f"{name.replace('-', '_')}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        lines = []
        for group, entries in groups.items():
            lines.append(f"[{group}]")
            lines.extend(f"{key} = {target}" for key, target in entries.items())
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
        importlib.invalidate_caches()
        plugins.reset()
        return site

    yield install_dist
    for module in [m for m in sys.modules if m.startswith("fake_")]:
        del sys.modules[module]


FAKE_ARTIFACTS = """
from mlcore.artifacts.local import LocalArtifactStore

class FakeStore(LocalArtifactStore):
    schemes = ("fake",)

    @classmethod
    def from_uri(cls, uri):
        return cls(uri.replace("fake://", "/", 1))
"""


def test_builtins_are_declared_as_entry_points_of_mlcore() -> None:
    stores = {ep.name: ep for ep in entry_points(group="mlcore.stores")}
    artifacts = {ep.name: ep for ep in entry_points(group="mlcore.artifacts")}
    for key in ("sqlite", "postgresql", "mysql", "file"):
        assert stores[key].dist is not None and stores[key].dist.name == "mlcore"
    for key in ("file", "memory"):
        assert artifacts[key].dist is not None and artifacts[key].dist.name == "mlcore"
    assert plugins.load("mlcore.stores", "sqlite", expect=MetadataStore) is SqlStore
    assert plugins.load("mlcore.artifacts", "file", expect=ArtifactStore) is LocalArtifactStore
    assert all(
        info.builtin
        for info in plugins.available("mlcore.stores")
        if info.name in ("sqlite", "file")
    )


def test_builtin_table_is_exactly_what_mlcore_declares() -> None:
    # load() resolves these keys without scanning entry points, so the table must not drift
    # from pyproject.toml's [project.entry-points]
    for group in plugins.GROUPS:
        declared = {
            ep.name: ep.value
            for ep in entry_points(group=group)
            if ep.dist is not None and ep.dist.name == "mlcore"
        }
        assert dict(plugins.BUILTINS[group]) == declared, group


def test_loading_a_builtin_reads_no_entry_points() -> None:
    assert plugins.load("mlcore.stores", "sqlite", expect=MetadataStore) is SqlStore
    assert plugins.load("mlcore.artifacts", "file") is LocalArtifactStore
    assert plugins._registry._scanned == {}
    assert "sqlite" in [i.name for i in plugins.available("mlcore.stores")]  # listing scans


def test_third_party_plugin_is_found_lazily_and_works(install: Installer, tmp_path: Path) -> None:
    install(
        "fake-artifacts",
        {"mlcore.artifacts": {"fake": "fake_artifacts:FakeStore"}},
        {"fake_artifacts": FAKE_ARTIFACTS},
    )
    assert "fake" in [i.name for i in plugins.available("mlcore.artifacts")]
    assert "fake_artifacts" not in sys.modules  # listed, not imported
    target = tmp_path / "via-plugin"
    tracker = Tracker(str(tmp_path / "home"), artifact_uri=f"fake://{str(target).lstrip('/')}")
    run = tracker.create_run("exp")
    tracker.log_text(run.id, "hello", "hi.txt")
    assert "fake_artifacts" in sys.modules
    assert (target / "1" / run.id / "hi.txt").read_text() == "hello"
    tracker.close()


def test_unknown_key_names_the_package_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLCORE_DISABLE_PLUGINS", "mlcore-s3,mlcore-gcs")  # as if not installed
    plugins.reset()
    with pytest.raises(PluginNotFoundError, match=r"'s3'.*install mlcore-s3") as caught:
        resolve_artifact_store("s3://bucket/x")
    assert caught.value.group == "mlcore.artifacts" and caught.value.name == "s3"
    with pytest.raises(PluginNotFoundError, match="gs.*mlcore-gcs"):
        resolve_artifact_store("gs://bucket/x")
    with pytest.raises(PluginNotFoundError, match=r"available: .*sqlite"):
        resolve_store("cassandra://x")


def test_missing_optional_dependency_is_skipped_with_the_reason(install: Installer) -> None:
    install(
        "fake-needs-dep",
        {"mlcore.artifacts": {"needy": "fake_needy:Store"}},
        {"fake_needy": "import some_dependency_that_is_not_installed\n"},
    )
    with pytest.raises(
        PluginNotFoundError, match="installed but .*some_dependency_that_is_not_installed"
    ):
        resolve_artifact_store("needy://x")


def test_broken_plugin_raises_plugin_error_naming_it(install: Installer) -> None:
    install(
        "fake-broken",
        {"mlcore.artifacts": {"broken": "fake_broken:Store"}},
        {"fake_broken": "raise RuntimeError('bad plugin code')\n"},
    )
    with pytest.raises(PluginError, match="'broken'.*bad plugin code") as caught:
        resolve_artifact_store("broken://x")
    assert caught.value.plugin == "broken"


def test_plugin_of_the_wrong_type_is_refused(install: Installer) -> None:
    install(
        "fake-wrong",
        {"mlcore.artifacts": {"wrong": "fake_wrong:NotAStore"}},
        {"fake_wrong": "class NotAStore:\n    pass\n"},
    )
    with pytest.raises(PluginError, match="must be a subclass of .*ArtifactStore"):
        resolve_artifact_store("wrong://x")


def test_disable_plugins_keeps_only_builtins(
    install: Installer, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(
        "fake-artifacts",
        {"mlcore.artifacts": {"fake": "fake_artifacts:FakeStore"}},
        {"fake_artifacts": FAKE_ARTIFACTS},
    )
    monkeypatch.setenv("MLCORE_DISABLE_PLUGINS", "1")
    plugins.reset()
    names = [i.name for i in plugins.available("mlcore.artifacts")]
    assert "fake" not in names and "file" in names
    with pytest.raises(PluginNotFoundError):
        resolve_artifact_store("fake://x")
    monkeypatch.setenv("MLCORE_DISABLE_PLUGINS", "fake-artifacts")
    plugins.reset()
    assert "fake" not in [i.name for i in plugins.available("mlcore.artifacts")]
    monkeypatch.setenv("MLCORE_DISABLE_PLUGINS", "something-else")
    plugins.reset()
    assert "fake" in [i.name for i in plugins.available("mlcore.artifacts")]


def test_a_third_party_cannot_shadow_a_builtin(install: Installer) -> None:
    install(
        "fake-shadow",
        {"mlcore.artifacts": {"file": "fake_artifacts:FakeStore"}},
        {"fake_artifacts": FAKE_ARTIFACTS},
    )
    assert plugins.load("mlcore.artifacts", "file") is LocalArtifactStore


def test_explicit_registration(tmp_path: Path) -> None:
    class Custom(LocalArtifactStore):
        @classmethod
        def from_uri(cls, uri: str) -> Custom:
            return cls(str(tmp_path / uri.split("://", 1)[1]))

    plugins.register("mlcore.artifacts", "custom", Custom)
    assert isinstance(resolve_artifact_store("custom://x"), Custom)
    with pytest.raises(PluginError, match="already registered"):
        plugins.register("mlcore.artifacts", "custom", Custom)
    plugins.register(
        "mlcore.artifacts", "custom", "mlcore.artifacts.memory:MemoryArtifactStore", replace=True
    )
    assert plugins.load("mlcore.artifacts", "custom").__name__ == "MemoryArtifactStore"
    plugins.unregister("mlcore.artifacts", "custom")
    with pytest.raises(PluginNotFoundError):
        resolve_artifact_store("custom://x")
    with pytest.raises(PluginError, match="unknown plugin group"):
        plugins.load("mlcore.nope", "x")
    plugins.register("mlcore.artifacts", "dangling", "no_such_module:Thing")
    with pytest.raises(PluginError, match="cannot be loaded"):
        resolve_artifact_store("dangling://x")

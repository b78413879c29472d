"""``RegistryStoreConformance``: the model registry of a store (``RegistryStore``).

Mix it into a test class with a ``store`` fixture (fresh and empty), like
:class:`~mlcore.testing.TrackingStoreConformance`. The store must implement
``TrackingStore`` too: the suite creates source runs with ``create_experiment``,
``get_experiment_by_name`` and ``create_run``. ``RegistryConformance`` (this suite and the
artifact-version suite) is kept for test classes that mixed it in before the split.
"""

from __future__ import annotations

import pytest

from mlcore.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from mlcore.stores import MetadataStore
from mlcore.testing.artifact_version_conformance import ArtifactVersionStoreConformance
from mlcore.testing.tracking_conformance import source_run as _run
from mlcore.types import ModelStage

__all__ = ["RegistryConformance", "RegistryStoreConformance"]


class RegistryStoreConformance:
    """Model-registry behaviour every store with a registry shares."""

    # -- registered models ---------------------------------------------------------------------
    def test_create_get_rename_delete_model(self, store: MetadataStore) -> None:
        created = store.create_registered_model("credit", description="d", tags={"team": "risk"})
        assert (created.name, created.description, created.tags) == (
            "credit",
            "d",
            {"team": "risk"},
        )
        with pytest.raises(AlreadyExistsError):
            store.create_registered_model("credit")
        store.create_model_version("credit", "runs:/" + "a" * 32 + "/model")
        renamed = store.rename_registered_model("credit", "credit-v2")
        assert renamed.name == "credit-v2"
        assert store.get_model_version("credit-v2", 1).name == "credit-v2"
        with pytest.raises(NotFoundError):
            store.get_registered_model("credit")
        store.update_registered_model("credit-v2", description="new")
        assert store.get_registered_model("credit-v2").description == "new"
        store.delete_registered_model("credit-v2")
        with pytest.raises(NotFoundError):
            store.get_model_version("credit-v2", 1)
        assert list(store.search_registered_models()) == []

    @pytest.mark.parametrize("bad", ["", "a/b", "a@b", "x" * 300, "tab\there"])
    def test_bad_model_names(self, store: MetadataStore, bad: str) -> None:
        with pytest.raises(InvalidInputError):
            store.create_registered_model(bad)
        with pytest.raises(InvalidInputError):
            store.create_model_version(bad, "runs:/" + "a" * 32 + "/m")
        assert list(store.search_registered_models()) == []

    def test_model_tags(self, store: MetadataStore) -> None:
        store.create_registered_model("m")
        store.set_registered_model_tag("m", "owner", "ana")
        store.set_registered_model_tag("m", "owner", "bo")
        assert store.get_registered_model("m").tags == {"owner": "bo"}
        store.delete_registered_model_tag("m", "owner")
        with pytest.raises(NotFoundError):
            store.delete_registered_model_tag("m", "owner")

    def test_search_models(self, store: MetadataStore) -> None:
        for name, team in [("credit-a", "risk"), ("credit-b", "growth"), ("churn", "risk")]:
            store.create_registered_model(name, tags={"team": team})
        names = [m.name for m in store.search_registered_models("name LIKE 'credit%'")]
        assert names == ["credit-a", "credit-b"]
        names = [
            m.name
            for m in store.search_registered_models("tags.team = 'risk' AND NOT name = 'churn'")
        ]
        assert names == ["credit-a"]
        names = [m.name for m in store.search_registered_models(order_by=["name DESC"])]
        assert names == ["credit-b", "credit-a", "churn"]
        page = store.search_registered_models(max_results=2)
        assert len(page) == 2
        assert page.next_page_token
        rest = store.search_registered_models(max_results=2, page_token=page.next_page_token)
        assert [m.name for m in rest] == ["credit-b"]
        with pytest.raises(InvalidInputError, match="have no metrics"):
            store.search_registered_models("metrics.auc > 1")

    # -- versions --------------------------------------------------------------------------------
    def test_versions_are_numbered_from_one_without_gaps(self, store: MetadataStore) -> None:
        source = "runs:/" + "a" * 32 + "/model"
        numbers = [store.create_model_version("m", source).version for _ in range(5)]
        assert numbers == [1, 2, 3, 4, 5]
        store.delete_model_version("m", 5)
        assert store.create_model_version("m", source).version == 5
        with pytest.raises(InvalidInputError):  # a failed registration consumes no number
            store.create_model_version("m", source, tags={"": "x"})
        assert store.create_model_version("m", source).version == 6

    def test_version_fields(self, store: MetadataStore) -> None:
        run_id = _run(store)
        version = store.create_model_version(
            "m",
            f"runs:/{run_id}/model",
            run_id=run_id,
            tags={"k": "v"},
            description="first",
            manifest_sha256="f" * 64,
            user="ana",
        )
        fetched = store.get_model_version("m", 1)
        assert fetched == version
        assert (fetched.source, fetched.run_id, fetched.tags) == (
            f"runs:/{run_id}/model",
            run_id,
            {"k": "v"},
        )
        assert (fetched.description, fetched.manifest_sha256, fetched.user) == (
            "first",
            "f" * 64,
            "ana",
        )
        assert fetched.stage is ModelStage.NONE
        assert fetched.status.value == "READY"
        assert store.model_versions_of_run(run_id) == [fetched]
        store.update_model_version("m", 1, description="better")
        store.set_model_version_tag("m", 1, "k", "w")
        assert store.get_model_version("m", "1").description == "better"
        assert store.get_model_version("m", 1).tags == {"k": "w"}
        store.delete_model_version_tag("m", 1, "k")
        assert store.get_model_version("m", 1).tags == {}

    def test_unknown_versions_are_not_found(self, store: MetadataStore) -> None:
        with pytest.raises(NotFoundError, match="registered model"):
            store.get_model_version("nope", 1)
        store.create_model_version("m", "runs:/" + "a" * 32 + "/model")
        with pytest.raises(NotFoundError, match="no version 7"):
            store.get_model_version("m", 7)
        for bad in (0, -1, "x", "1.5", True):
            with pytest.raises(InvalidInputError):
                store.get_model_version("m", bad)

    def test_stages_and_archive_existing(self, store: MetadataStore) -> None:
        source = "runs:/" + "a" * 32 + "/model"
        for _ in range(3):
            store.create_model_version("m", source)
        store.transition_model_version_stage("m", 1, "production")
        store.transition_model_version_stage("m", 2, "Production")
        assert store.get_model_version("m", 1).stage is ModelStage.PRODUCTION
        store.transition_model_version_stage("m", 3, "Production", archive_existing=True)
        assert [store.get_model_version("m", v).stage for v in (1, 2, 3)] == [
            ModelStage.ARCHIVED,
            ModelStage.ARCHIVED,
            ModelStage.PRODUCTION,
        ]
        with pytest.raises(InvalidInputError, match="unknown stage"):
            store.transition_model_version_stage("m", 1, "Prod")
        latest = store.get_latest_versions("m")
        assert [(v.stage, v.version) for v in latest] == [
            (ModelStage.PRODUCTION, 3),
            (ModelStage.ARCHIVED, 2),
        ]
        assert [v.version for v in store.get_latest_versions("m", ["Archived"])] == [2]

    def test_aliases(self, store: MetadataStore) -> None:
        source = "runs:/" + "a" * 32 + "/model"
        store.create_model_version("m", source)
        store.create_model_version("m", source)
        store.set_model_alias("m", "champion", 1)
        assert store.get_model_version_by_alias("m", "champion").version == 1
        store.set_model_alias("m", "champion", 2)  # moves
        assert store.get_model_version_by_alias("m", "champion").version == 2
        assert store.get_model_version("m", 2).aliases == ["champion"]
        assert store.get_registered_model("m").aliases == {"champion": 2}
        for bad in ("latest", "v3", "has space", ""):
            with pytest.raises(InvalidInputError):
                store.set_model_alias("m", bad, 1)
        with pytest.raises(NotFoundError):
            store.set_model_alias("m", "x", 9)
        store.delete_model_alias("m", "champion")
        with pytest.raises(NotFoundError):
            store.get_model_version_by_alias("m", "champion")
        store.set_model_alias("m", "doomed", 2)
        store.delete_model_version("m", 2)
        with pytest.raises(NotFoundError):
            store.get_model_version_by_alias("m", "doomed")

    def test_search_versions(self, store: MetadataStore) -> None:
        run_id = _run(store)
        for name in ("a", "b"):
            store.create_model_version(name, f"runs:/{run_id}/{name}", run_id=run_id)
            store.create_model_version(name, f"runs:/{run_id}/{name}")
        store.transition_model_version_stage("b", 2, "Staging")
        found = store.search_model_versions("stage = 'staging'")
        assert [(v.name, v.version) for v in found] == [("b", 2)]
        found = store.search_model_versions(f"run_id = '{run_id}'")
        assert sorted((v.name, v.version) for v in found) == [("a", 1), ("b", 1)]
        found = store.search_model_versions("name = 'a'", order_by=["version DESC"])
        assert [v.version for v in found] == [2, 1]
        assert [(v.name, v.version) for v in store.search_model_versions("version >= 2")] == [
            ("a", 2),
            ("b", 2),
        ]


class RegistryConformance(RegistryStoreConformance, ArtifactVersionStoreConformance):
    """The registry and artifact-version suites together (as before they were split)."""

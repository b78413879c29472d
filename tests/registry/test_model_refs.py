"""``models:/`` references resolved at store level, and registry sitting above tracking."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest

from mlcore.errors import InvalidInputError, NotFoundError
from mlcore.registry import model_uris
from mlcore.stores import MetadataStore, resolve_store
from mlcore.stores.model_refs import (
    ModelRef,
    parse_model_ref,
    parse_models_uri,
    resolve_model_version,
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MetadataStore]:
    store = resolve_store(f"sqlite:///{tmp_path}/refs.db", artifact_uri=str(tmp_path / "art"))
    for n in range(3):
        store.create_model_version("credit", f"{tmp_path}/art/model{n}")
    store.transition_model_version_stage("credit", 1, "Production")
    store.transition_model_version_stage("credit", 2, "Staging")
    store.set_model_alias("credit", "champion", 2)
    store.create_registered_model("empty")
    yield store
    store.close()


@pytest.mark.parametrize(
    ("ref", "number"),
    [
        ("models:/credit/1", 1),
        ("models:/credit/3", 3),
        ("models:/credit@champion", 2),
        ("models:/credit/Production", 1),
        ("models:/credit/staging", 2),
        ("models:/credit/latest", 3),
        (ModelRef("credit", version=2), 2),
        (ModelRef("credit", alias="champion"), 2),
        (ModelRef("credit", stage="Production"), 1),
        (ModelRef("credit", latest=True), 3),
    ],
)
def test_resolve_model_version(store: MetadataStore, ref: str | ModelRef, number: int) -> None:
    version = resolve_model_version(store, ref)
    assert (version.name, version.version) == ("credit", number)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("models:/credit@nobody", "nobody"),
        ("models:/credit/9", "9"),
        ("models:/credit/Archived", "no version in stage Archived"),
        ("models:/empty/latest", "has no versions"),
        ("models:/unknown/latest", "unknown"),
    ],
)
def test_what_is_not_there_is_not_found(store: MetadataStore, uri: str, message: str) -> None:
    with pytest.raises(NotFoundError, match=message):
        resolve_model_version(store, uri)


@pytest.mark.parametrize(
    "uri", ["runs:/abc/model", "models:/credit", "models:/credit/1/extra", "models:/credit/Prod"]
)
def test_a_malformed_uri_is_invalid_input(store: MetadataStore, uri: str) -> None:
    with pytest.raises(InvalidInputError):
        resolve_model_version(store, uri)


def test_the_registry_keeps_the_public_names() -> None:
    assert model_uris.ModelRef is ModelRef
    assert model_uris.parse_model_ref is parse_model_ref
    assert model_uris.parse_models_uri is parse_models_uri


def test_registry_sits_above_tracking_and_serving_beside_it() -> None:
    graph = grimp.build_graph("mlcore")
    for service in ("mlcore.tracking", "mlcore.serving"):
        chain = graph.find_shortest_chain(
            importer=service, imported="mlcore.registry", as_packages=True
        )
        assert chain is None, f"{service} reaches mlcore.registry: {' -> '.join(chain or ())}"
    assert graph.chain_exists(
        importer="mlcore.registry", imported="mlcore.tracking", as_packages=True
    )

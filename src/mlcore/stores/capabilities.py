"""What a store can do beyond tracking: ``require_registry`` and ``require_artifact_versions``.

A third-party store may implement :class:`~mlcore.stores.TrackingStore` only. The services
that need more ask for it through these helpers, which return the store typed as the
interface they need, or raise :class:`~mlcore.errors.UnsupportedError` naming the store and
the interface it lacks.
"""

from __future__ import annotations

from mlcore.errors import UnsupportedError
from mlcore.stores.artifact_versions_api import ArtifactVersionStore
from mlcore.stores.registry_api import RegistryStore
from mlcore.stores.store_base import StoreBase
from mlcore.stores.tracking_api import TrackingStore

__all__ = ["require_artifact_versions", "require_registry"]


def require_registry(store: StoreBase) -> RegistryStore:
    """``store`` as a :class:`~mlcore.stores.RegistryStore`.

    Raises:
        UnsupportedError: the store does not implement the model registry.
    """
    if isinstance(store, RegistryStore):
        return store
    raise UnsupportedError(_lacks(store, "the model registry", "mlcore.stores.RegistryStore"))


def require_artifact_versions(store: StoreBase) -> ArtifactVersionStore:
    """``store`` as an :class:`~mlcore.stores.ArtifactVersionStore`.

    Raises:
        UnsupportedError: the store does not implement versioned artifacts.
    """
    if isinstance(store, ArtifactVersionStore):
        return store
    raise UnsupportedError(
        _lacks(store, "versioned artifacts", "mlcore.stores.ArtifactVersionStore")
    )


def _lacks(store: StoreBase, feature: str, interface: str) -> str:
    name = getattr(store, "display_name", None) or type(store).__name__
    return (
        f"{name} ({type(store).__name__}) implements {_has(store)} only: {feature} needs a "
        f"store that implements {interface}"
    )


def _has(store: StoreBase) -> str:
    parts = [
        label
        for cls, label in (
            (TrackingStore, "tracking"),
            (RegistryStore, "the model registry"),
            (ArtifactVersionStore, "versioned artifacts"),
        )
        if isinstance(store, cls)
    ]
    return " and ".join(parts) or "no store interface"

"""``MetadataStore``: a store that implements every interface, as the built-in ones do.

The interfaces live in their own modules: :class:`~mlcore.stores.TrackingStore`
(``tracking_api``), :class:`~mlcore.stores.RegistryStore` (``registry_api``) and
:class:`~mlcore.stores.ArtifactVersionStore` (``artifact_versions_api``). Each public method is
a *template method*: it validates its arguments, calls the abstract ``_method`` a backend
implements, and translates backend exceptions into :mod:`mlcore.errors` on the way out. A
backend (built in or third party) implements only the underscored methods and inherits the
checks, so every store refuses the same bad input with the same error.
``mlcore.testing.StoreConformance`` is the executable form of this contract.

The helpers once defined here (``check_run_id``, ``NewRun``, page tokens...) live in
``checks``, ``records`` and ``paging`` and are re-exported for existing imports.
"""

from __future__ import annotations

from mlcore.stores.artifact_versions_api import ArtifactVersionStore
from mlcore.stores.checks import check_experiment_id, check_run_id, flatten_config
from mlcore.stores.paging import (
    MAX_RESULTS_LIMIT,
    RunPage,
    decode_page_token,
    encode_page_token,
)
from mlcore.stores.records import MetricPoint, NewRun, RunUpdate
from mlcore.stores.registry_api import RegistryStore
from mlcore.stores.tracking_api import TrackingStore

__all__ = [
    "MAX_RESULTS_LIMIT",
    "MetadataStore",
    "MetricPoint",
    "NewRun",
    "RunPage",
    "RunUpdate",
    "check_experiment_id",
    "check_run_id",
    "decode_page_token",
    "encode_page_token",
    "flatten_config",
]


class MetadataStore(TrackingStore, RegistryStore, ArtifactVersionStore):
    """Experiments, runs, params, metrics, tags, the model registry and versioned artifacts in
    one backend: :class:`TrackingStore`, :class:`RegistryStore` and
    :class:`ArtifactVersionStore` together.

    Subclasses are registered under their URI schemes in the ``mlcore.stores`` entry-point
    group and built with :meth:`from_uri`. A store for tracking only subclasses
    :class:`TrackingStore` instead.
    """

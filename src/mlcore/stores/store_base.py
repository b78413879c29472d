"""``StoreBase``: what the three store interfaces share, a name and an error boundary."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from mlcore.errors import translate_errors

__all__ = ["StoreBase"]


class StoreBase:
    """The root of :class:`~mlcore.stores.TrackingStore`, :class:`~mlcore.stores.RegistryStore`
    and :class:`~mlcore.stores.ArtifactVersionStore`.

    Each public method of those interfaces is a *template method*: it validates its arguments,
    calls the abstract ``_method`` a backend implements inside :meth:`_boundary`, which
    translates backend exceptions into :mod:`mlcore.errors` on the way out.
    """

    #: Human-readable name used in error messages; must not contain credentials.
    display_name: str = "store"

    @contextmanager
    def _boundary(self) -> Iterator[None]:
        with translate_errors(self.display_name):
            yield

    def close(self) -> None:
        """Release connections. The store must not be used afterwards."""

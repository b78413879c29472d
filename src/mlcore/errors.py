"""The one exception tree of mlcore.

Every error mlcore raises on purpose derives from :class:`MlcoreError`, so callers can catch
what they mean instead of comparing error-code strings::

    MlcoreError
    ├── NotFoundError          (also LookupError)   unknown run, experiment, model, file, ...
    ├── AlreadyExistsError                          a name that is already taken
    ├── InvalidInputError      (also ValueError)    bad names, values, filters, paths, URIs
    │   ├── ParamConflictError                      a param re-logged with another value
    │   └── ForeignStoreError                       another tool's store (MLflow's) given as ours
    ├── PluginNotFoundError    (also LookupError)   no plugin for a URI scheme / flavor / executor
    ├── PluginError                                 a plugin that is installed but broken
    ├── IntegrityError                              stored bytes whose sha256 does not match
    ├── StoreError                                  the backend failed (connection, disk, ...)
    └── UnsupportedError                            the store lacks an interface (registry, ...)

Backend errors (SQLAlchemy, fsspec, OS errors) are translated at the store boundary with
:func:`translate_errors`; no traceback from deep inside a driver reaches the user as the
primary error (it stays attached as ``__cause__`` for debugging).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

__all__ = [
    "AlreadyExistsError",
    "ForeignStoreError",
    "IntegrityError",
    "InvalidInputError",
    "MlcoreError",
    "NotFoundError",
    "ParamConflictError",
    "PluginError",
    "PluginNotFoundError",
    "StoreError",
    "UnsupportedError",
    "translate_errors",
]


class MlcoreError(Exception):
    """Root of every error mlcore raises on purpose."""

    #: A stable, machine-readable code (used by the REST API's JSON errors).
    code = "INTERNAL_ERROR"


class NotFoundError(MlcoreError, LookupError):
    """The thing asked for does not exist (run, experiment, file, model version...)."""

    code = "NOT_FOUND"


class AlreadyExistsError(MlcoreError):
    """A name that must be unique is already taken."""

    code = "ALREADY_EXISTS"


class InvalidInputError(MlcoreError, ValueError):
    """Input that mlcore refuses: a bad name, value, filter, path or URI.

    Attributes:
        field: the argument or column that is wrong, when known.
    """

    code = "INVALID_INPUT"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ParamConflictError(InvalidInputError):
    """A param was logged again with a different value (params are immutable)."""

    code = "PARAM_CONFLICT"


class ForeignStoreError(InvalidInputError):
    """A tracking URI or copy source is another tool's store (MLflow's ``mlruns`` or
    database): mlcore does not open it as its own, nor writes into it.

    Attributes:
        tool: whose store it is (``"mlflow"``).
    """

    code = "FOREIGN_STORE"

    def __init__(self, message: str, *, tool: str, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.tool = tool


class PluginNotFoundError(MlcoreError, LookupError):
    """No plugin is registered for a key (URI scheme, flavor, executor name)."""

    code = "PLUGIN_NOT_FOUND"

    def __init__(self, message: str, *, group: str = "", name: str = "") -> None:
        super().__init__(message)
        self.group = group
        self.name = name


class PluginError(MlcoreError):
    """A plugin is installed but broken (fails to import, wrong type, ...).

    Attributes:
        plugin: the entry-point name of the plugin.
    """

    code = "PLUGIN_ERROR"

    def __init__(self, message: str, *, plugin: str = "") -> None:
        super().__init__(message)
        self.plugin = plugin


class IntegrityError(MlcoreError):
    """Stored content does not match its recorded sha256 (corruption or tampering)."""

    code = "INTEGRITY_ERROR"


class StoreError(MlcoreError):
    """The storage backend failed: connection refused, disk full, schema too new, ..."""

    code = "STORE_ERROR"


class UnsupportedError(MlcoreError):
    """The store does not implement what was asked of it, e.g. a tracking-only store used
    for the model registry (see :func:`mlcore.stores.require_registry`)."""

    code = "UNSUPPORTED"


@contextlib.contextmanager
def translate_errors(
    what: str, *, mapping: Callable[[BaseException], MlcoreError | None] | None = None
) -> Iterator[None]:
    """Translate backend exceptions into mlcore errors at a store boundary.

    Args:
        what: names the store in the message, e.g. ``"sqlite store /x/mlcore.db"``; must not
            hold credentials.
        mapping: optional function that turns a backend exception into a specific mlcore error
            (or returns None to fall back to :class:`StoreError`).

    Raises:
        MlcoreError: errors that are already mlcore errors pass through unchanged.
        StoreError: any other ``Exception`` (``KeyboardInterrupt`` and friends pass through).
    """
    try:
        yield
    except MlcoreError:
        raise
    except Exception as exc:
        mapped = mapping(exc) if mapping is not None else None
        if mapped is not None:
            raise mapped from exc
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        detail = f"{type(exc).__name__}: {first_line}" if first_line else type(exc).__name__
        raise StoreError(f"{what}: {detail}") from exc

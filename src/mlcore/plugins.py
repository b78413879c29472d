"""Plugin discovery through entry points, lazily and once.

Four entry-point groups; the entry name is the key:

| group | key | built in (declared in mlcore's own pyproject.toml) |
|---|---|---|
| ``mlcore.stores`` | URI scheme | sqlite, postgresql, mysql, mariadb, file, http, https |
| ``mlcore.artifacts`` | URI scheme | file, memory, http, https |
| ``mlcore.flavors`` | flavor name | sklearn, xgboost, torch, onnx, python |
| ``mlcore.executors`` | executor name | local, process |

Nothing is scanned at ``import mlcore``: the first :func:`load` of a group reads its entry
points and caches them. Lookup order: explicit :func:`register` calls, then entry points.
mlcore's own keys always resolve to its own classes, so loading one (``sqlite``, ``file``...)
skips the scan (reading every installed package's metadata costs tens of milliseconds); a
test checks :data:`BUILTINS` against the declared entry points.
A key nobody provides raises :class:`~mlcore.errors.PluginNotFoundError` naming the package
to install. A plugin whose import fails with ``ImportError`` (an optional dependency is
missing) is skipped with a debug log and the reason is given if it is asked for; any other
failure raises :class:`~mlcore.errors.PluginError`.

``MLCORE_DISABLE_PLUGINS=1`` loads only mlcore's own entry points; a comma-separated list
(``MLCORE_DISABLE_PLUGINS=s3,mlcore-gcs``) disables those entry names or distributions.

The registry is process-wide (like fsspec's ``registry``); it holds only what installed
packages declare plus explicit registrations.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar

from mlcore.errors import PluginError, PluginNotFoundError

__all__ = [
    "BUILTINS",
    "GROUPS",
    "KNOWN_PLUGINS",
    "PluginInfo",
    "available",
    "load",
    "register",
    "reset",
    "unregister",
]

logger = logging.getLogger(__name__)

GROUPS = ("mlcore.stores", "mlcore.artifacts", "mlcore.flavors", "mlcore.executors")
_OWN_DISTRIBUTION = "mlcore"

#: mlcore's own entry points (as declared in its pyproject.toml): group -> key -> target.
BUILTINS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "mlcore.stores": MappingProxyType(
            {
                "sqlite": "mlcore.stores.sql:SqlStore",
                "postgresql": "mlcore.stores.sql:SqlStore",
                "mysql": "mlcore.stores.sql:SqlStore",
                "mariadb": "mlcore.stores.sql:SqlStore",
                "file": "mlcore.stores.file:FileStore",
                "http": "mlcore.stores.http:HttpStore",
                "https": "mlcore.stores.http:HttpStore",
            }
        ),
        "mlcore.artifacts": MappingProxyType(
            {
                "file": "mlcore.artifacts.local:LocalArtifactStore",
                "memory": "mlcore.artifacts.memory:MemoryArtifactStore",
                "http": "mlcore.artifacts.http:HttpArtifactStore",
                "https": "mlcore.artifacts.http:HttpArtifactStore",
            }
        ),
        "mlcore.flavors": MappingProxyType(
            {
                "sklearn": "mlcore.flavors.sklearn:SklearnFlavor",
                "xgboost": "mlcore.flavors.xgboost:XGBoostFlavor",
                "torch": "mlcore.flavors.torch:TorchFlavor",
                "onnx": "mlcore.flavors.onnx:OnnxFlavor",
                "python": "mlcore.flavors.python:PythonFlavor",
            }
        ),
        "mlcore.executors": MappingProxyType(
            {
                "local": "mlcore.executors.local:LocalExecutor",
                "process": "mlcore.executors.process:ProcessExecutor",
            }
        ),
    }
)

#: Plugins mlcore knows of but does not ship: key -> what to install (shown in errors).
KNOWN_PLUGINS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "mlcore.stores": MappingProxyType(
            {
                "http": "mlcore[server] (the HTTP client store ships with the server extra)",
                "https": "mlcore[server] (the HTTP client store ships with the server extra)",
            }
        ),
        "mlcore.artifacts": MappingProxyType(
            {
                "s3": "mlcore-s3 (pip install ./plugins/mlcore-s3 or `pip install mlcore-s3`)",
                "s3a": "mlcore-s3",
                "gs": "mlcore-gcs (pip install ./plugins/mlcore-gcs or `pip install mlcore-gcs`)",
                "gcs": "mlcore-gcs",
            }
        ),
        "mlcore.flavors": MappingProxyType({}),
        "mlcore.executors": MappingProxyType(
            {
                "dask": "mlcore-dask (pip install ./plugins/mlcore-dask)",
                "kubernetes": "mlcore-kubernetes (pip install ./plugins/mlcore-kubernetes)",
            }
        ),
    }
)

T = TypeVar("T")


@dataclass(frozen=True)
class PluginInfo:
    """What is known of one plugin without importing it."""

    group: str
    name: str
    target: str
    distribution: str

    @property
    def builtin(self) -> bool:
        return self.distribution == _OWN_DISTRIBUTION


class _Registry:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._scanned: dict[str, dict[str, Any]] = {}
        self._explicit: dict[str, dict[str, Any]] = {}
        self._loaded: dict[tuple[str, str], Any] = {}
        self._skipped: dict[tuple[str, str], str] = {}

    # -- discovery -------------------------------------------------------------------------
    def _entry_points(self, group: str) -> dict[str, Any]:
        found = self._scanned.get(group)
        if found is not None:
            return found
        with self._lock:
            if group in self._scanned:
                return self._scanned[group]
            from importlib.metadata import entry_points

            disabled = _disabled_from_env()
            found = {}
            for ep in entry_points(group=group):
                dist = ep.dist.name if ep.dist is not None else ""
                if dist != _OWN_DISTRIBUTION and (
                    "*" in disabled or ep.name in disabled or dist in disabled
                ):
                    logger.debug("plugin %s:%s from %s disabled by env", group, ep.name, dist)
                    continue
                # mlcore's own declaration never loses to a third party's with the same key:
                # a plugin may add keys, replacing a built-in needs an explicit register().
                if (
                    ep.name in found
                    and found[ep.name].dist
                    and (found[ep.name].dist.name == _OWN_DISTRIBUTION)
                ):
                    continue
                found[ep.name] = ep
            self._scanned[group] = found
            return found

    def info(self, group: str) -> list[PluginInfo]:
        _check_group(group)
        infos = {
            name: PluginInfo(group, name, ep.value, ep.dist.name if ep.dist else "")
            for name, ep in self._entry_points(group).items()
        }
        for name, target in self._explicit.get(group, {}).items():
            text = target if isinstance(target, str) else _qualname(target)
            infos[name] = PluginInfo(group, name, text, "<registered>")
        return sorted(infos.values(), key=lambda i: i.name)

    # -- loading -----------------------------------------------------------------------------
    def load(self, group: str, name: str, expect: type[T] | None) -> Any:
        _check_group(group)
        key = (group, name)
        obj = self._loaded.get(key)
        if obj is not None:
            return obj
        with self._lock:
            obj = self._loaded.get(key)
            if obj is not None:
                return obj
            target = self._explicit.get(group, {}).get(name)
            source = "registered"
            if target is None:
                builtin = BUILTINS[group].get(name)  # the scan would find it: skip the scan
                ep = None if builtin is not None else self._entry_points(group).get(name)
                if builtin is None and ep is None:
                    raise _not_found(group, name, self._skipped.get(key), self.names(group))
                if ep is not None:
                    source = f"entry point {ep.value!r} from {ep.dist.name if ep.dist else '?'}"
                else:
                    source = f"entry point {builtin!r} from {_OWN_DISTRIBUTION}"
                try:
                    obj = ep.load() if ep is not None else _import_builtin(str(builtin))
                except ImportError as exc:
                    reason = f"{source} could not be imported: {exc}"
                    logger.debug("skipping plugin %s:%s: %s", group, name, reason)
                    self._skipped[key] = reason
                    raise _not_found(group, name, reason, self.names(group)) from exc
                except Exception as exc:
                    raise PluginError(
                        f"plugin {name!r} in group {group!r} ({source}) is broken: "
                        f"{type(exc).__name__}: {exc}",
                        plugin=name,
                    ) from exc
            elif isinstance(target, str):
                obj = _import_target(group, name, target)
            else:
                obj = target
            if expect is not None and not (isinstance(obj, type) and issubclass(obj, expect)):
                raise PluginError(
                    f"plugin {name!r} in group {group!r} ({source}) must be a subclass of "
                    f"{expect.__module__}.{expect.__qualname__}, got {obj!r}",
                    plugin=name,
                )
            self._loaded[key] = obj
            return obj

    def names(self, group: str) -> list[str]:
        return sorted(set(self._entry_points(group)) | set(self._explicit.get(group, {})))

    def register(self, group: str, name: str, target: Any, replace: bool) -> None:
        _check_group(group)
        if not isinstance(name, str) or not name:
            raise PluginError("a plugin needs a non-empty string name", plugin=str(name))
        with self._lock:
            explicit = self._explicit.setdefault(group, {})
            if name in explicit and not replace:
                raise PluginError(
                    f"plugin {name!r} is already registered in group {group!r}; "
                    "pass replace=True to override it",
                    plugin=name,
                )
            explicit[name] = target
            self._loaded.pop((group, name), None)

    def unregister(self, group: str, name: str) -> None:
        with self._lock:
            self._explicit.get(group, {}).pop(name, None)
            self._loaded.pop((group, name), None)

    def reset(self) -> None:
        with self._lock:
            self._scanned.clear()
            self._explicit.clear()
            self._loaded.clear()
            self._skipped.clear()


def _qualname(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', repr(obj))}"


def _check_group(group: str) -> None:
    if group not in GROUPS:
        raise PluginError(f"unknown plugin group {group!r}; groups are {', '.join(GROUPS)}")


def _disabled_from_env() -> set[str]:
    raw = os.environ.get("MLCORE_DISABLE_PLUGINS", "").strip()
    if not raw or raw.lower() in ("0", "false", "no"):
        return set()
    if raw.lower() in ("1", "true", "yes", "all", "*"):
        return {"*"}
    return {part.strip() for part in raw.split(",") if part.strip()}


def _import_builtin(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _import_target(group: str, name: str, target: str) -> Any:
    module_name, _, attr = target.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split(".") if attr else []:
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise PluginError(
            f"plugin {name!r} in group {group!r} points at {target!r}, which cannot be loaded: "
            f"{exc}",
            plugin=name,
        ) from exc
    return obj


def _not_found(
    group: str, name: str, skipped_reason: str | None, known: list[str]
) -> PluginNotFoundError:
    kind = {
        "mlcore.stores": "tracking store for URI scheme",
        "mlcore.artifacts": "artifact store for URI scheme",
        "mlcore.flavors": "model flavor",
        "mlcore.executors": "executor",
    }[group]
    message = f"no {kind} {name!r}"
    if skipped_reason:
        message += f": the plugin is installed but {skipped_reason}"
    hint = KNOWN_PLUGINS.get(group, {}).get(name)
    if hint:
        message += f"; install {hint}"
    if known:
        message += f" (available: {', '.join(known)})"
    return PluginNotFoundError(message, group=group, name=name)


_registry = _Registry()


def load(group: str, name: str, *, expect: type[T] | None = None) -> Any:
    """Load the plugin ``name`` of ``group``, importing it on first use only.

    Args:
        group: one of :data:`GROUPS`.
        name: the entry-point name (URI scheme, flavor or executor name).
        expect: a base class the plugin must subclass; a plugin that does not is a
            :class:`PluginError` naming it.

    Raises:
        PluginNotFoundError: nobody provides ``name``; the message says what to install.
        PluginError: the plugin exists but is broken.
    """
    return _registry.load(group, name, expect)


def available(group: str) -> list[PluginInfo]:
    """The plugins of ``group`` that are installed or registered (without importing them)."""
    return _registry.info(group)


def register(group: str, name: str, target: Any, *, replace: bool = False) -> None:
    """Register a plugin in-process (a class, or a ``"module:attr"`` string loaded lazily).

    Explicit registrations take precedence over entry points; meant for tests, notebooks and
    applications that embed mlcore.
    """
    _registry.register(group, name, target, replace)


def unregister(group: str, name: str) -> None:
    """Remove an in-process registration made with :func:`register`."""
    _registry.unregister(group, name)


def reset() -> None:
    """Forget every scan, load and registration (entry points are rescanned on next use)."""
    _registry.reset()

"""Settings read from the environment (stdlib only, no I/O beyond ``os.environ``).

| variable | meaning | default |
|---|---|---|
| ``MLCORE_TRACKING_URI`` | where metadata lives | ``./.mlcore`` (SQLite + artifacts) |
| ``MLCORE_ARTIFACT_URI`` | root for new experiments' artifacts | next to the store |
| ``MLCORE_EXPERIMENT_NAME`` | experiment of fluent runs | ``Default`` |
| ``MLCORE_FLUSH_INTERVAL`` | seconds between background metric flushes | ``0.1`` |
| ``MLCORE_HEARTBEAT_INTERVAL`` | seconds between run heartbeats | ``10`` |
| ``MLCORE_HEARTBEAT_TIMEOUT`` | a RUNNING run silent this long shows as CRASHED | ``90`` |
| ``MLCORE_DISABLE_PLUGINS`` | ``1`` = only mlcore's own plugins; or a comma list of names | unset |
| ``MLCORE_SQLITE_SYNCHRONOUS`` | SQLite sync: ``NORMAL``; ``FULL`` syncs each commit | ``NORMAL`` |
"""

from __future__ import annotations

import functools
import os

from mlcore.errors import InvalidInputError

__all__ = [
    "DEFAULT_EXPERIMENT",
    "DEFAULT_HOME",
    "artifact_uri_from_env",
    "current_user",
    "env_float",
    "env_str",
    "flush_interval",
    "heartbeat_interval",
    "heartbeat_timeout",
    "sqlite_synchronous",
    "tracking_uri_from_env",
]

DEFAULT_HOME = ".mlcore"
DEFAULT_EXPERIMENT = "Default"


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInputError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise InvalidInputError(f"{name} must be positive, got {raw!r}")
    return value


@functools.lru_cache(maxsize=1)
def current_user() -> str | None:
    """The login name recorded as the user of runs and model versions (looked up once)."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no user database entry (containers)
        return None


def tracking_uri_from_env() -> str:
    return env_str("MLCORE_TRACKING_URI") or DEFAULT_HOME


def artifact_uri_from_env() -> str | None:
    return env_str("MLCORE_ARTIFACT_URI")


def flush_interval() -> float:
    return env_float("MLCORE_FLUSH_INTERVAL", 0.1)


def heartbeat_interval() -> float:
    return env_float("MLCORE_HEARTBEAT_INTERVAL", 10.0)


def heartbeat_timeout() -> float:
    return env_float("MLCORE_HEARTBEAT_TIMEOUT", 90.0)


SQLITE_SYNCHRONOUS_LEVELS = ("NORMAL", "FULL", "EXTRA")


def sqlite_synchronous() -> str:
    """SQLite's ``synchronous`` level for file stores (WAL): ``NORMAL`` survives application
    crashes; ``FULL``/``EXTRA`` also survive power loss, syncing the log at every commit."""
    raw = env_str("MLCORE_SQLITE_SYNCHRONOUS", "NORMAL") or "NORMAL"
    if raw.upper() not in SQLITE_SYNCHRONOUS_LEVELS:
        raise InvalidInputError(
            f"MLCORE_SQLITE_SYNCHRONOUS must be one of {', '.join(SQLITE_SYNCHRONOUS_LEVELS)}, "
            f"got {raw!r}"
        )
    return raw.upper()

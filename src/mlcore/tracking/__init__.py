"""Experiment tracking (services layer): the ``Tracker`` client and its parts.

Modules: ``tracker`` (Tracker), ``active_run`` (ActiveRun handles), ``context`` (the run
context: default tracker and active runs of the process), ``writer`` (the batching writer and
heartbeat), ``config`` (W&B-style Config), ``lifecycle`` (exit, SIGTERM, crash handling),
``tables`` (runs as pyarrow), ``artifact_formats``, ``run_source`` (source tags, run names),
``models`` (log_model / load_model), ``artifact_versions`` (W&B-style versioned artifacts),
``lineage``, ``run_init`` (``mlcore.init``), ``summary`` (run summary, ``define_metric``),
``disabled_run``, ``saved_files`` (``save``), ``media`` (Image, Table, Histogram, Html).

The names below are imported on first use, so that the run context stays cheap to import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlcore.tracking.active_run import ActiveRun
    from mlcore.tracking.artifact_versions import Artifact
    from mlcore.tracking.bulk_runs import RunEnd, RunSpec
    from mlcore.tracking.config import Config
    from mlcore.tracking.models import ModelInfo
    from mlcore.tracking.tracker import Tracker

__all__ = ["ActiveRun", "Artifact", "Config", "ModelInfo", "RunEnd", "RunSpec", "Tracker"]

_LAZY = {
    "ActiveRun": "mlcore.tracking.active_run",
    "Artifact": "mlcore.tracking.artifact_versions",
    "Config": "mlcore.tracking.config",
    "ModelInfo": "mlcore.tracking.models",
    "RunEnd": "mlcore.tracking.bulk_runs",
    "RunSpec": "mlcore.tracking.bulk_runs",
    "Tracker": "mlcore.tracking.tracker",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

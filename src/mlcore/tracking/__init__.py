"""Experiment tracking (services layer): the ``Tracker`` client and its parts.

Modules: ``tracker`` (Tracker), ``active_run`` (ActiveRun handles), ``writer`` (the batching
writer and heartbeat), ``config`` (W&B-style Config), ``lifecycle`` (exit, SIGTERM, crash
handling), ``tables`` (runs as pyarrow), ``artifact_formats``, ``run_context``.
"""

from mlcore.tracking.active_run import ActiveRun
from mlcore.tracking.config import Config
from mlcore.tracking.tracker import Tracker

__all__ = ["ActiveRun", "Config", "Tracker"]

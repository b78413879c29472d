"""Experiment tracking (services layer): the ``Tracker`` client and its parts.

Modules: ``tracker`` (Tracker), ``active_run`` (ActiveRun handles), ``writer`` (the batching
writer and heartbeat), ``config`` (W&B-style Config), ``lifecycle`` (exit, SIGTERM, crash
handling), ``tables`` (runs as pyarrow), ``artifact_formats``, ``run_context``, ``models``
(log_model / load_model), ``artifact_versions`` (W&B-style versioned artifacts),
``lineage``.
"""

from mlcore.tracking.active_run import ActiveRun
from mlcore.tracking.artifact_versions import Artifact
from mlcore.tracking.config import Config
from mlcore.tracking.models import ModelInfo
from mlcore.tracking.tracker import Tracker

__all__ = ["ActiveRun", "Artifact", "Config", "ModelInfo", "Tracker"]

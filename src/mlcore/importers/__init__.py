"""Importers: other tools' stores read (never written) and their history written into mlcore.

``mlcore.importers.mlflow``: MLflow's file store (``mlruns/``) and its SQL databases.
"""

from __future__ import annotations

__all__: list[str] = []

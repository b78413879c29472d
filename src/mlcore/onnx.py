"""ONNX: export any built-in flavor's model, and log/load ONNX models.

ONNX is the safe (no pickle) and fast serving format::

    proto = mlcore.onnx.export(model, X[:10])        # checked against the original
    mlcore.onnx.log_model(proto, "model-onnx", input_example=X[:5].astype("float32"))
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from mlcore._native import load_native, log_model_as, save_model_as
from mlcore.flavors.onnx_export import export

if TYPE_CHECKING:
    from mlcore.flavors import ModelSpec
    from mlcore.tracking import ModelInfo

FLAVOR = "onnx"
__all__ = ["export", "load_model", "log_model", "save_model"]


def log_model(model: Any, artifact_path: str = "model", **options: Any) -> ModelInfo:
    """Log an ``onnx.ModelProto`` to the active run."""
    return log_model_as(FLAVOR, model, artifact_path, options)


def save_model(model: Any, path: str | os.PathLike[str], **options: Any) -> ModelSpec:
    return save_model_as(FLAVOR, model, path, options)


def load_model(model_uri: str) -> Any:
    """An onnxruntime ``InferenceSession`` for the ONNX model at ``model_uri``."""
    return load_native(FLAVOR, model_uri)

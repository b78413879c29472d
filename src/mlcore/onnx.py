"""ONNX: export any built-in flavor's model, and log/load ONNX models.

ONNX is the safe (no pickle) and fast serving format::

    proto = mlcore.onnx.export(model, X[:10])        # checked against the original
    mlcore.onnx.log_model(proto, "model-onnx", input_example=X[:5].astype("float32"))
"""

from __future__ import annotations

from mlcore._native import framework_functions
from mlcore.flavors.onnx_export import export

FLAVOR = "onnx"
__all__ = ["export", "load_model", "log_model", "save_model"]

_functions = framework_functions(
    FLAVOR,
    __name__,
    model_keyword="onnx_model",
    log_model_doc="Log an ``onnx.ModelProto`` to the active run.",
    load_model_doc="An onnxruntime ``InferenceSession`` for the ONNX model at ``model_uri``.",
)
log_model = _functions.log_model
save_model = _functions.save_model
load_model = _functions.load_model

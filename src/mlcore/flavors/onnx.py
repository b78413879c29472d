"""The ``onnx`` flavor: ONNX models, run with onnxruntime (the safe, fast serving format)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any, ClassVar

from mlcore.flavors.base import Flavor

__all__ = ["OnnxFlavor"]

MODEL_FILE = "model.onnx"


class OnnxFlavor(Flavor):
    name = "onnx"
    framework = "onnx"
    priority = 5
    unpickles = False
    input_kind = "array"
    extra_requirements: ClassVar[tuple[str, ...]] = ("numpy", "onnxruntime")

    @classmethod
    def can_save(cls, obj: Any) -> bool:
        module = sys.modules.get("onnx")
        return module is not None and isinstance(obj, module.ModelProto)

    def save(self, obj: Any, directory: str, **options: Any) -> dict[str, Any]:
        import onnx

        onnx.checker.check_model(obj)
        onnx.save_model(obj, os.path.join(directory, MODEL_FILE))
        return {"file": MODEL_FILE, "output": options.get("output", 0)}

    def load(self, directory: str, options: dict[str, Any]) -> Any:
        import onnxruntime

        session_options = onnxruntime.SessionOptions()
        session_options.intra_op_num_threads = max(1, min(4, os.cpu_count() or 1))
        return onnxruntime.InferenceSession(
            os.path.join(directory, options.get("file", MODEL_FILE)),
            sess_options=session_options,
            providers=["CPUExecutionProvider"],
        )

    def predict(self, native: Any, data: Any, options: dict[str, Any]) -> Any:
        module = sys.modules.get("onnx")
        if module is not None and isinstance(native, module.ModelProto):
            import onnxruntime

            native = onnxruntime.InferenceSession(
                native.SerializeToString(), providers=["CPUExecutionProvider"]
            )
        return self.run(native, data)[options.get("output", 0)]

    @staticmethod
    def run(session: Any, data: Any) -> list[Any]:
        """All outputs of ``session`` for ``data`` (an array, or a dict of named arrays)."""
        import numpy as np

        inputs = session.get_inputs()
        if isinstance(data, Mapping):
            feed = {name: np.asarray(value) for name, value in data.items()}
        else:
            if hasattr(data, "to_numpy"):
                data = data.to_numpy()
            array = np.asarray(data)
            expected = inputs[0].type
            if expected == "tensor(float)" and array.dtype != np.float32:
                array = array.astype(np.float32)
            elif expected == "tensor(double)" and array.dtype != np.float64:
                array = array.astype(np.float64)
            elif expected == "tensor(int64)" and array.dtype != np.int64:
                array = array.astype(np.int64)
            feed = {inputs[0].name: array}
        outputs: list[Any] = session.run(None, feed)
        return outputs

    def to_onnx(self, native: Any, sample: Any) -> Any:
        import onnx

        if isinstance(native, onnx.ModelProto):
            return native
        from mlcore.errors import InvalidInputError

        raise InvalidInputError("export the onnx.ModelProto, not a loaded inference session")

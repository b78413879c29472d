"""The ``python`` flavor: any object with ``predict`` or any callable, saved with cloudpickle.

The catch-all (checked last): custom model classes, pre/post-processing wrappers, functions.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from mlcore.flavors.base import Flavor

if TYPE_CHECKING:
    from mlcore.flavors.verified import VerifiedFiles

__all__ = ["PythonFlavor"]

MODEL_FILE = "python_model.pkl"


class PythonFlavor(Flavor):
    name = "python"
    framework = None
    priority = 1000

    @classmethod
    def can_save(cls, obj: Any) -> bool:
        return callable(getattr(obj, "predict", None)) or callable(obj)

    def save(self, obj: Any, directory: str, **options: Any) -> dict[str, Any]:
        import cloudpickle

        with open(os.path.join(directory, MODEL_FILE), "wb") as handle:
            cloudpickle.dump(obj, handle, protocol=5)
        has_predict = callable(getattr(obj, "predict", None))
        return {"file": MODEL_FILE, "call": "predict" if has_predict else "call"}

    def load(self, directory: str, options: dict[str, Any]) -> Any:
        import cloudpickle

        with open(os.path.join(directory, options.get("file", MODEL_FILE)), "rb") as handle:
            return cloudpickle.load(handle)

    def load_verified(self, files: VerifiedFiles, options: dict[str, Any]) -> Any:
        import cloudpickle

        return cloudpickle.loads(files[options.get("file", MODEL_FILE)])

    def predict(self, native: Any, data: Any, options: dict[str, Any]) -> Any:
        if options.get("call") == "call" or not callable(getattr(native, "predict", None)):
            return native(data)
        return native.predict(data)

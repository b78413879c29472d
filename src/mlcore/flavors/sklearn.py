"""The ``sklearn`` flavor: any scikit-learn estimator or Pipeline, saved with cloudpickle."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, ClassVar

from mlcore.flavors.base import Flavor

if TYPE_CHECKING:
    from mlcore.flavors.verified import VerifiedFiles

__all__ = ["SklearnFlavor"]

MODEL_FILE = "model.pkl"


class SklearnFlavor(Flavor):
    name = "sklearn"
    framework = "scikit-learn"
    priority = 50
    extra_requirements: ClassVar[tuple[str, ...]] = ("numpy", "scipy")

    @classmethod
    def can_save(cls, obj: Any) -> bool:
        base = sys.modules.get("sklearn.base")
        return base is not None and isinstance(obj, base.BaseEstimator)

    def save(self, obj: Any, directory: str, **options: Any) -> dict[str, Any]:
        import cloudpickle

        with open(os.path.join(directory, MODEL_FILE), "wb") as handle:
            cloudpickle.dump(obj, handle, protocol=5)
        method = options.get("predict_method", "predict")
        return {"serialization": "cloudpickle", "file": MODEL_FILE, "predict_method": method}

    def load(self, directory: str, options: dict[str, Any]) -> Any:
        import cloudpickle

        with open(os.path.join(directory, options.get("file", MODEL_FILE)), "rb") as handle:
            return cloudpickle.load(handle)

    def load_verified(self, files: VerifiedFiles, options: dict[str, Any]) -> Any:
        import cloudpickle

        return cloudpickle.loads(files[options.get("file", MODEL_FILE)])

    def predict(self, native: Any, data: Any, options: dict[str, Any]) -> Any:
        return getattr(native, options.get("predict_method", "predict"))(data)

    def to_onnx(self, native: Any, sample: Any) -> Any:
        from skl2onnx import to_onnx

        array = _as_float32(sample)
        options = {"zipmap": False} if hasattr(native, "predict_proba") else None
        return to_onnx(native, array[:1], target_opset=17, options=options)


def _as_float32(sample: Any) -> Any:
    import numpy as np

    if hasattr(sample, "to_numpy"):
        sample = sample.to_numpy()
    return np.asarray(sample, dtype=np.float32)

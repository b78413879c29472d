"""The ``xgboost`` flavor: Boosters and the scikit-learn API models, in XGBoost's own UBJSON
format (no pickle)."""

from __future__ import annotations

import copy
import os
import sys
from typing import TYPE_CHECKING, Any

from mlcore.errors import IntegrityError
from mlcore.flavors.base import Flavor, pin

if TYPE_CHECKING:
    from mlcore.flavors.verified import VerifiedFiles

__all__ = ["XGBoostFlavor"]

MODEL_FILE = "model.ubj"


class XGBoostFlavor(Flavor):
    name = "xgboost"
    framework = "xgboost"
    priority = 10  # before sklearn: XGBClassifier is also a scikit-learn estimator
    unpickles = False

    @classmethod
    def framework_version(cls) -> str | None:
        module = sys.modules.get("xgboost")
        if module is not None:
            return str(module.__version__)
        return super().framework_version()

    @classmethod
    def requirements(cls) -> list[str]:
        version = cls.framework_version()
        found = [r for r in super().requirements() if not r.startswith("xgboost")]
        return sorted({*found, pin("xgboost", version)} if version else set(found))

    @classmethod
    def can_save(cls, obj: Any) -> bool:
        module = sys.modules.get("xgboost")
        return module is not None and isinstance(obj, (module.Booster, module.XGBModel))

    def save(self, obj: Any, directory: str, **options: Any) -> dict[str, Any]:
        import xgboost

        obj.save_model(os.path.join(directory, MODEL_FILE))
        if isinstance(obj, xgboost.Booster):
            return {"model_type": "Booster", "file": MODEL_FILE}
        return {"model_type": type(obj).__name__, "file": MODEL_FILE}

    def load(self, directory: str, options: dict[str, Any]) -> Any:
        model = self._empty(options)
        model.load_model(os.path.join(directory, options.get("file", MODEL_FILE)))
        return model

    def load_verified(self, files: VerifiedFiles, options: dict[str, Any]) -> Any:
        model = self._empty(options)
        model.load_model(bytearray(files[options.get("file", MODEL_FILE)]))
        return model

    @staticmethod
    def _empty(options: dict[str, Any]) -> Any:
        import xgboost

        model_type = options.get("model_type", "Booster")
        if model_type == "Booster":
            model: Any = xgboost.Booster()
        else:
            model_class = getattr(xgboost, model_type, None)
            if model_class is None or not isinstance(model_class, type):
                raise IntegrityError(f"unknown xgboost model type {model_type!r}")
            model = model_class()
        return model

    def predict(self, native: Any, data: Any, options: dict[str, Any]) -> Any:
        import xgboost

        if isinstance(native, xgboost.Booster):
            return native.predict(xgboost.DMatrix(data))
        return native.predict(data)

    def to_onnx(self, native: Any, sample: Any) -> Any:
        import numpy as np
        import xgboost
        from onnxmltools import convert_xgboost
        from onnxmltools.convert.common.data_types import FloatTensorType

        if hasattr(sample, "to_numpy"):
            sample = sample.to_numpy()
        n_features = np.asarray(sample).shape[1]
        # onnxmltools reads features as f0..fN: convert a copy without the column names
        if isinstance(native, xgboost.Booster):
            booster = native.copy()
            booster.feature_names = None
        else:
            booster = copy.deepcopy(native)
            booster.get_booster().feature_names = None
        # onnxmltools picks the highest opset its XGBoost converter supports
        return convert_xgboost(
            booster, initial_types=[("input", FloatTensorType([None, n_features]))]
        )

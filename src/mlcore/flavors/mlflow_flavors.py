"""Flavors for the files of MLflow model directories (``MLmodel``), as MLflow lays them out.

Each loads from verified bytes (see :mod:`mlcore.flavors.verified`) and predicts as MLflow's
``pyfunc`` does: ``sklearn`` (skops, cloudpickle or pickle), ``pytorch`` (a pickled module or a
``torch.export`` ``.pt2`` archive), ``python_function`` with a ``python_model`` (a cloudpickled
``mlflow.pyfunc.PythonModel``, loaded without MLflow installed) and ``python_function`` with
any other ``loader_module`` (only on opt-in: it imports and runs that module). xgboost and
onnx models need no subclass: their files load with the built-in flavors.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import io
import os
import pickle
import sys
from typing import TYPE_CHECKING, Any

from mlcore.errors import IntegrityError, UnsupportedError
from mlcore.flavors.python import PythonFlavor
from mlcore.flavors.sklearn import SklearnFlavor
from mlcore.flavors.torch import TorchFlavor

if TYPE_CHECKING:
    from mlcore.flavors.verified import VerifiedFiles

__all__ = [
    "MlflowLoaderModuleFlavor",
    "MlflowPythonModelFlavor",
    "MlflowSklearnFlavor",
    "MlflowTorchFlavor",
    "PythonModel",
    "PythonModelContext",
]


class MlflowSklearnFlavor(SklearnFlavor):
    """``sklearn`` files saved by MLflow: ``serialization_format`` skops (MLflow 3's default,
    loaded with skops' allow-list of types), cloudpickle or pickle."""

    def load_verified(self, files: VerifiedFiles, options: dict[str, Any]) -> Any:
        data = files[options["file"]]
        if options.get("serialization") == "skops":
            try:
                skops_io = importlib.import_module("skops.io")
            except ImportError:
                raise UnsupportedError(
                    "this MLflow sklearn model is saved in the skops format; install skops "
                    "(pip install skops) to load it"
                ) from None
            return skops_io.loads(data, trusted=options.get("skops_trusted_types"))
        import cloudpickle

        return cloudpickle.loads(data)


class MlflowTorchFlavor(TorchFlavor):
    """``pytorch`` files saved by MLflow: ``data/model.pth`` (the whole module pickled with
    cloudpickle) or ``data/model.pt2`` (``torch.export``)."""

    def load_verified(self, files: VerifiedFiles, options: dict[str, Any]) -> Any:
        import torch

        data = io.BytesIO(files[options["file"]])
        if options.get("format") == "pt2":
            return torch.export.load(data).module()
        module = torch.load(data, map_location="cpu", weights_only=False)
        module.eval()
        return module


class PythonModel:
    """Stands in for ``mlflow.pyfunc.PythonModel`` when a cloudpickled python_model is loaded
    without MLflow installed (its subclass's own methods come from the pickle)."""

    def load_context(self, context: Any) -> None:
        """Called once after loading, as MLflow does."""


class PythonModelContext:
    """What MLflow passes to ``load_context`` and ``predict``: local paths of the model's
    artifacts (in the verified private copy) and its ``model_config``."""

    def __init__(self, artifacts: dict[str, str], model_config: dict[str, Any]) -> None:
        self._artifacts = artifacts
        self._model_config = model_config

    @property
    def artifacts(self) -> dict[str, str]:
        return self._artifacts

    @property
    def model_config(self) -> dict[str, Any]:
        return self._model_config


class _TypeHints:
    """Stands in for the type hints MLflow stores on a python_model it saved."""

    def __init__(self, input_: Any = None, output: Any = None) -> None:
        self.input = input_
        self.output = output


#: MLflow classes a python_model pickle may name, and what replaces them without MLflow
_STAND_INS = {
    ("mlflow.pyfunc.model", "PythonModel"): PythonModel,
    ("mlflow.pyfunc", "PythonModel"): PythonModel,
    ("mlflow.pyfunc.model", "PythonModelContext"): PythonModelContext,
    ("mlflow.pyfunc", "PythonModelContext"): PythonModelContext,
    ("mlflow.models.signature", "_TypeHints"): _TypeHints,
}


def _mlflow_installed() -> bool:
    return importlib.util.find_spec("mlflow") is not None


class _StandInUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == "mlflow" or module.startswith("mlflow."):
            stand_in = _STAND_INS.get((module, name))
            if stand_in is None:
                raise UnsupportedError(
                    f"this MLflow python_model refers to {module}.{name} (e.g. a predict with "
                    "type hints, which MLflow wraps); install mlflow to load it"
                )
            return stand_in
        return super().find_class(module, name)


def _takes_context(predict: Any) -> bool:
    target = inspect.unwrap(predict)
    try:
        parameters = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return True
    names = [p for p in parameters if p not in ("self", "params")]
    return "context" in parameters or len(names) == 2


class _LoadedPythonModel:
    def __init__(self, model: Any, context: Any) -> None:
        self.model = model
        self.context = context
        self.with_context = _takes_context(model.predict)

    def predict(self, data: Any) -> Any:
        if self.with_context:
            return self.model.predict(self.context, data)
        return self.model.predict(data)


class MlflowPythonModelFlavor(PythonFlavor):
    """``python_function`` with a cloudpickled ``python_model`` (``mlflow.pyfunc.model``)."""

    name = "python"

    @classmethod
    def can_save(cls, obj: Any) -> bool:
        return False

    def load_verified(self, files: VerifiedFiles, options: dict[str, Any]) -> Any:
        data = files[options["file"]]
        if _mlflow_installed():
            import cloudpickle

            model = cloudpickle.loads(data)
            context_class = importlib.import_module("mlflow.pyfunc").PythonModelContext
        else:
            model = _StandInUnpickler(io.BytesIO(data)).load()
            context_class = PythonModelContext
        artifacts = options.get("artifacts") or {}
        local: dict[str, str] = {}
        if artifacts:
            root = files.private_directory()
            for key, path in artifacts.items():
                local[key] = os.path.join(root, *path.split("/"))
        context = context_class(local, dict(options.get("model_config") or {}))
        model.load_context(context)
        return _LoadedPythonModel(model, context)

    def predict(self, native: Any, data: Any, options: dict[str, Any]) -> Any:
        return native.predict(data)


class MlflowLoaderModuleFlavor(PythonFlavor):
    """``python_function`` with a custom ``loader_module``: imports that module and calls its
    ``_load_pyfunc(path)``, as MLflow does. Runs code the model names, so mlcore loads it only
    when the caller opted in (``trust_unrecorded=True``)."""

    name = "python"

    @classmethod
    def can_save(cls, obj: Any) -> bool:
        return False

    def load_verified(self, files: VerifiedFiles, options: dict[str, Any]) -> Any:
        root = files.private_directory()
        code = options.get("code")
        if code:
            sys.path.insert(0, os.path.join(root, *str(code).split("/")))
        loader = options["loader_module"]
        try:
            module = importlib.import_module(loader)
        except ImportError as exc:
            raise UnsupportedError(
                f"the MLflow model's loader_module {loader!r} cannot be imported: {exc}"
            ) from exc
        load = getattr(module, "_load_pyfunc", None)
        if load is None:
            raise IntegrityError(f"loader_module {loader!r} has no _load_pyfunc")
        data = options.get("data")
        return load(os.path.join(root, *str(data).split("/")) if data else root)

    def predict(self, native: Any, data: Any, options: dict[str, Any]) -> Any:
        return native.predict(data)

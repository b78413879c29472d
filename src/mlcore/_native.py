"""The shape every per-framework module (``mlcore.sklearn``, ``mlcore.xgboost``, ``mlcore.torch``,
``mlcore.onnx``) shares: ``log_model``, ``save_model`` and ``load_model`` with a fixed flavor,
and ``autolog`` for the frameworks autologging knows.

A framework module builds its functions here and binds them to its own names::

    _functions = framework_functions("sklearn", __name__)
    log_model = _functions.log_model

The functions import the flavors, autologging and the framework itself only when called, so
``import mlcore.sklearn`` does not import scikit-learn.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from mlcore import _fluent
from mlcore.errors import InvalidInputError

if TYPE_CHECKING:
    from mlcore.flavors import ModelSpec
    from mlcore.tracking import ModelInfo

__all__ = [
    "Autolog",
    "FrameworkFunctions",
    "LoadModel",
    "LogModel",
    "SaveModel",
    "autolog_function",
    "framework_functions",
]

LOG_MODEL_DOC = "Log ``model`` to the active run (see :func:`mlcore.log_model`)."
SAVE_MODEL_DOC = "Save ``model`` as a model directory at ``path``."
LOAD_MODEL_DOC = "The native model at ``model_uri`` (verified like :func:`mlcore.load_model`)."
AUTOLOG_DOC = "Turn autologging on (or off) for this framework only (see :func:`mlcore.autolog`)."

_F = TypeVar("_F", bound=Callable[..., Any])


class LogModel(Protocol):
    """``log_model(model, artifact_path="model", **options)``: log to the active run
    (``name=``: MLflow 3's name for ``artifact_path``; the model also under MLflow's keyword,
    e.g. ``sk_model=``)."""

    def __call__(
        self,
        model: Any = None,
        artifact_path: str | None = None,
        *,
        name: str | None = None,
        **options: Any,
    ) -> ModelInfo: ...


class SaveModel(Protocol):
    """``save_model(model, path, **options)``: write a model directory (the model also under
    MLflow's keyword, e.g. ``sk_model=``)."""

    def __call__(
        self, model: Any = None, path: str | os.PathLike[str] | None = None, **options: Any
    ) -> ModelSpec: ...


class LoadModel(Protocol):
    """``load_model(model_uri)``: the framework's own object."""

    def __call__(self, model_uri: str) -> Any: ...


class Autolog(Protocol):
    """``autolog(disable=False, **options)``: autologging of one framework on or off."""

    def __call__(self, disable: bool = False, **options: Any) -> None: ...


@dataclass(frozen=True)
class FrameworkFunctions:
    """The model functions of one framework module, fixed to its flavor."""

    flavor: str
    log_model: LogModel
    save_model: SaveModel
    load_model: LoadModel


def framework_functions(
    flavor: str,
    module: str,
    *,
    model_keyword: str,
    log_model_doc: str = LOG_MODEL_DOC,
    save_model_doc: str = SAVE_MODEL_DOC,
    load_model_doc: str = LOAD_MODEL_DOC,
) -> FrameworkFunctions:
    """``log_model``, ``save_model`` and ``load_model`` for ``flavor``, named as members of
    ``module`` (so ``help()`` and tracebacks show ``mlcore.sklearn.log_model``).
    ``model_keyword``: MLflow's keyword for the model in that module (``sk_model``), accepted
    for ``model``."""

    def log_model(
        model: Any = None,
        artifact_path: str | None = None,
        *,
        name: str | None = None,
        **options: Any,
    ) -> ModelInfo:
        model = _model_argument("log_model", model_keyword, model, options)
        return _fluent.log_model(model, artifact_path, name=name, flavor=flavor, **options)

    def save_model(
        model: Any = None, path: str | os.PathLike[str] | None = None, **options: Any
    ) -> ModelSpec:
        model = _model_argument("save_model", model_keyword, model, options)
        if path is None:
            raise TypeError("save_model() missing the path to save the model to")
        return _save_model_as(flavor, model, path, options)

    def load_model(model_uri: str) -> Any:
        return _load_native(flavor, model_uri)

    return FrameworkFunctions(
        flavor=flavor,
        log_model=_publish(log_model, module, log_model_doc),
        save_model=_publish(save_model, module, save_model_doc),
        load_model=_publish(load_model, module, load_model_doc),
    )


def autolog_function(flavor: str, module: str, *, doc: str = AUTOLOG_DOC) -> Autolog:
    """``autolog`` for ``flavor`` (a framework :func:`mlcore.autolog` knows), named as a
    member of ``module``."""

    def autolog(disable: bool = False, **options: Any) -> None:
        from mlcore.autolog import configure

        configure(flavor, disable=disable, **options)

    return _publish(autolog, module, doc)


def _publish(function: _F, module: str, doc: str) -> _F:
    function.__module__ = module
    function.__qualname__ = function.__name__
    function.__doc__ = doc
    return function


def _model_argument(function: str, keyword: str, model: Any, options: dict[str, Any]) -> Any:
    """The model, given as ``model`` or under MLflow's ``keyword`` (taken out of ``options``).

    Raises:
        TypeError: both given, or neither.
    """
    from mlcore._validation import mlflow_alias

    chosen = mlflow_alias(function, "model", model, keyword, options.pop(keyword, None))
    if chosen is None:
        raise TypeError(f"{function}() missing the model (model= or {keyword}=)")
    return chosen


def _save_model_as(
    flavor: str, model: Any, path: str | os.PathLike[str], options: dict[str, Any]
) -> ModelSpec:
    from mlcore.flavors import resolve_flavor, save_model

    chosen = resolve_flavor(flavor)
    if not chosen.can_save(model):
        raise InvalidInputError(f"the {flavor} flavor cannot save a {type(model).__name__}")
    return save_model(model, path, flavor=chosen, **options)


def _load_native(flavor: str, model_uri: str) -> Any:
    model = _fluent.load_model(model_uri)
    if model.spec.flavor != flavor:
        raise InvalidInputError(
            f"{model_uri} is a {model.spec.flavor} model, not {flavor}; use mlcore.load_model "
            f"or mlcore.{model.spec.flavor}.load_model",
            field="model_uri",
        )
    return model.native

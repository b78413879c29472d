"""Autologging (services layer): ``mlcore.autolog()`` for scikit-learn, XGBoost and
PyTorch Lightning, plus ``mlcore.torch.watch``.

This package is callable: ``mlcore.autolog(...)`` calls :func:`autolog` (so the name works
both as the function users call and as the package it lives in).

Framework modules are patched reversibly (``disable=True`` restores them) and only when the
framework is installed. Autologging opens a run when none is active (and ends it after the
fit) and never breaks training: anything it cannot log becomes an ``AutologWarning``.

Modules: ``session`` (runs from the run context, safety), ``patching``, ``sklearn``,
``xgboost``, ``lightning``, ``torch_watch``.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from typing import Any

from mlcore.autolog.session import AutologWarning
from mlcore.errors import InvalidInputError

__all__ = ["FRAMEWORKS", "AutologWarning", "autolog", "configure", "enabled"]

#: framework switch -> (module with enable/disable, import needed)
FRAMEWORKS = {
    "sklearn": ("mlcore.autolog.sklearn", "sklearn"),
    "xgboost": ("mlcore.autolog.xgboost", "xgboost"),
    "torch": ("mlcore.autolog.lightning", "torch"),
}
_enabled: dict[str, dict[str, Any]] = {}


def configure(
    framework: str,
    *,
    disable: bool = False,
    **options: Any,
) -> bool:
    """Turn autologging of one framework on or off; returns whether it is on.

    Options: ``log_models`` (default True), ``log_input_examples`` (False),
    ``max_tuning_runs`` (child runs per search, default all). Runs are the run context's
    (those of the fluent API).
    """
    if framework not in FRAMEWORKS:
        raise InvalidInputError(
            f"unknown autolog framework {framework!r}; known: {', '.join(FRAMEWORKS)}",
            field="framework",
        )
    module_name, needs = FRAMEWORKS[framework]
    if importlib.util.find_spec(needs) is None:
        return False
    module = importlib.import_module(module_name)
    if disable:
        module.disable()
        _enabled.pop(framework, None)
        return False
    result = module.enable(dict(options))
    if result is False:
        return False
    _enabled[framework] = dict(options)
    return True


def autolog(
    disable: bool = False,
    *,
    sklearn: bool = True,
    xgboost: bool = True,
    torch: bool = True,
    **options: Any,
) -> dict[str, bool]:
    """Autolog every installed framework switched on; returns which are now on."""
    chosen = {"sklearn": sklearn, "xgboost": xgboost, "torch": torch}
    return {
        name: configure(name, disable=disable or not wanted, **options)
        for name, wanted in chosen.items()
    }


def enabled() -> dict[str, dict[str, Any]]:
    """Frameworks being autologged and their options."""
    return dict(_enabled)


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> dict[str, bool]:
        return autolog(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

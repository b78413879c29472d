"""XGBoost Boosters and XGBClassifier/XGBRegressor: log, save and load them as native objects.

``mlcore.log_model`` detects the flavor on its own; these functions fix it and give back the
framework's own object (``mlcore.load_model`` gives a generic model with ``predict``).
"""

from __future__ import annotations

from mlcore._native import autolog_function, framework_functions

FLAVOR = "xgboost"
__all__ = ["autolog", "load_model", "log_model", "save_model"]

_functions = framework_functions(FLAVOR, __name__, model_keyword="xgb_model")
log_model = _functions.log_model
save_model = _functions.save_model
load_model = _functions.load_model
autolog = autolog_function(FLAVOR, __name__)

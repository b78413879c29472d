"""Hyper-parameter sweeps (services layer): W&B sweep configs, Optuna-grade search, any executor.

```python
def train():
    model = fit(lr=mlcore.config.lr, depth=mlcore.config.depth)
    for epoch in range(20):
        mlcore.log({"val_acc": evaluate(model, epoch)})   # early termination watches this

sweep = mlcore.sweep({"method": "bayes", "metric": {"name": "val_acc", "goal": "maximize"},
                      "parameters": {
                          "lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 0.1},
                          "depth": {"values": [3, 6, 9]}},
                      "early_terminate": {"type": "hyperband", "min_iter": 3}},
                     function=train, count=30, parallelism=2, executor="process")
sweep.best_run, sweep.runs_table(), sweep.importance()
```

``mlcore.sweep`` is both this package and the function that starts a sweep (like
``mlcore.autolog``).
"""

from __future__ import annotations

import sys
import types
from typing import Any

from mlcore.sweep.config import SweepConfig, parse_config
from mlcore.sweep.engine import Sweep, sweep
from mlcore.sweep.trial import TrialPruned

__all__ = ["Sweep", "SweepConfig", "TrialPruned", "parse_config", "sweep"]


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Sweep:
        return sweep(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

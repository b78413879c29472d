"""Model serving (services layer): load a model once and answer predictions over HTTP.

```python
app = mlcore.serving.create_app("models:/credit@champion")   # an ASGI app (Starlette)
srv = mlcore.Server.model("models:/credit@champion", batching={"max_batch_size": 32})
url = srv.start(port=0)
```

The app speaks MLflow's scoring protocol (``POST /invocations``) and KServe's Open Inference
Protocol v2 (``/v2/...``), checks inputs against the model signature, micro-batches concurrent
requests, exports Prometheus metrics and can log a sample of predictions for drift monitoring.
Needs the server extra: ``pip install "mlcore[server]"``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlcore.serving.app import ServingOptions, create_app
    from mlcore.serving.batching import BatchingOptions
    from mlcore.serving.runtime import ServedModel

__all__ = ["BatchingOptions", "ServedModel", "ServingOptions", "create_app"]

_LAZY = {
    "create_app": "mlcore.serving.app",
    "ServingOptions": "mlcore.serving.app",
    "BatchingOptions": "mlcore.serving.batching",
    "ServedModel": "mlcore.serving.runtime",
}


def __getattr__(name: str) -> Any:  # imports Starlette only when an app is asked for
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mlcore.serving' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)

"""Pickling a task's code for a worker that cannot import the caller's modules (a pod, a
worker on another machine): the function's module travels by value."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["dumps_with_code"]


def dumps_with_code(obj: Any, function: Any) -> bytes:
    """cloudpickle ``obj`` with the code of ``function``'s module inside, even when that
    module is loaded here (a script run by path is in ``sys.modules`` while it runs, but
    nothing can import it elsewhere). ``__main__`` is pickled by value by cloudpickle
    anyway; mlcore's own modules are installed wherever a worker runs."""
    import cloudpickle

    name = getattr(function, "__module__", None) or ""
    module = sys.modules.get(name)
    if module is None or name == "__main__" or name == "mlcore" or name.startswith("mlcore."):
        return bytes(cloudpickle.dumps(obj))
    cloudpickle.register_pickle_by_value(module)
    try:
        return bytes(cloudpickle.dumps(obj))
    finally:
        cloudpickle.unregister_pickle_by_value(module)

"""``watch``: gradient and parameter norms and histograms while a torch model trains
(W&B's ``wandb.watch``).

Every ``log_freq`` backward passes (gradients) or training-mode forward passes (parameters)
the L2 norm of each tensor is logged as a metric (``gradients/<name>/norm``,
``parameters/<name>/norm``) and a 64-bin histogram is kept; histograms are written as
``watch/histograms.jsonl`` when the model is unwatched or the run ends.

Watching a model again in the same run (a second training phase, after ``unwatch`` or not)
continues its step counters and keeps the histograms already taken, so steps only increase
and nothing logged before is overwritten; a new run starts counting from zero.
"""

from __future__ import annotations

import json
import weakref
from typing import Any

from mlcore.autolog.session import safely
from mlcore.errors import InvalidInputError

__all__ = ["BINS", "MAX_HISTOGRAMS", "unwatch", "watch"]

MAX_HISTOGRAMS = 20_000
BINS = 64
_watches: weakref.WeakKeyDictionary[Any, _Watch] = weakref.WeakKeyDictionary()
#: the latest watch of each model, open or closed: a new watch in the same run continues it
_latest: weakref.WeakKeyDictionary[Any, _Watch] = weakref.WeakKeyDictionary()


class _Watch:
    def __init__(
        self, model: Any, run: Any, log: str, log_freq: int, previous: _Watch | None = None
    ) -> None:
        self.model: Any = model
        self.run = run
        self.log_freq = log_freq
        self.handles: list[Any] = []
        self.histograms: list[dict[str, Any]] = []
        self.backward_calls: dict[str, int] = {}
        self.forward_calls = 0
        if previous is not None:  # the same model watched again in the same run: continue
            self.histograms = list(previous.histograms)
            self.backward_calls = dict(previous.backward_calls)
            self.forward_calls = previous.forward_calls
        self.closed = False
        if log in ("gradients", "all"):
            for name, parameter in model.named_parameters():
                if parameter.requires_grad:
                    self.handles.append(parameter.register_hook(self._gradient_hook(name)))
        if log in ("parameters", "all"):
            self.handles.append(model.register_forward_hook(self._forward_hook))
        run.add_end_callback(lambda _run: self.close())

    def _histogram(self, kind: str, name: str, tensor: Any, step: int) -> None:
        import numpy as np

        if len(self.histograms) >= MAX_HISTOGRAMS:
            return
        values = tensor.detach().float().cpu().numpy().ravel()
        if values.size == 0 or not np.isfinite(values).all():
            return
        counts, edges = np.histogram(values, bins=BINS)
        self.histograms.append(
            {
                "step": step,
                "kind": kind,
                "name": name,
                "min": float(edges[0]),
                "max": float(edges[-1]),
                "counts": counts.tolist(),
            }
        )

    def _gradient_hook(self, name: str) -> Any:
        def hook(gradient: Any) -> None:
            calls = self.backward_calls.get(name, 0) + 1
            self.backward_calls[name] = calls
            if calls % self.log_freq == 0:

                def log() -> None:
                    self.run.log_metric(
                        f"gradients/{name}/norm", float(gradient.detach().norm()), step=calls
                    )
                    self._histogram("gradients", name, gradient, calls)

                safely("log gradients", log)

        return hook

    def _forward_hook(self, module: Any, inputs: Any, output: Any) -> None:
        if not module.training:
            return
        self.forward_calls += 1
        if self.forward_calls % self.log_freq:
            return
        step = self.forward_calls

        def log() -> None:
            for name, parameter in module.named_parameters():
                self.run.log_metric(
                    f"parameters/{name}/norm", float(parameter.detach().norm()), step=step
                )
                self._histogram("parameters", name, parameter, step)

        safely("log parameters", log)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.model = None  # ``_latest`` keeps this watch weakly keyed by the model
        for handle in self.handles:
            handle.remove()
        if self.histograms:
            lines = "\n".join(json.dumps(h) for h in self.histograms) + "\n"
            safely(
                "write histograms",
                lambda: self.run.tracker.log_text(self.run.id, lines, "watch/histograms.jsonl"),
            )


def watch(model: Any, log: str = "all", log_freq: int = 100, run: Any = None) -> Any:
    import torch

    if not isinstance(model, torch.nn.Module):
        raise InvalidInputError(f"watch() needs a torch.nn.Module, got {type(model).__name__}")
    if log not in ("gradients", "parameters", "all"):
        raise InvalidInputError("log must be 'gradients', 'parameters' or 'all'", field="log")
    if not isinstance(log_freq, int) or log_freq < 1:
        raise InvalidInputError("log_freq must be a positive integer", field="log_freq")
    if run is None:
        from mlcore.tracking.context import run_context

        context = run_context()
        run = context.active_run() or context.start_run(name="watch")
    unwatch(model)
    previous = _latest.get(model)
    if previous is not None and previous.run.id != run.id:
        previous = None
    handle = _Watch(model, run, log, log_freq, previous)
    _watches[model] = handle
    _latest[model] = handle
    return handle


def unwatch(model: Any) -> None:
    handle = _watches.pop(model, None)
    if handle is not None:
        handle.close()

"""KFP's task methods (``set_retry``, ``set_caching_options``, ``set_cpu_limit``...): options
of one step, not of its component.

A step whose options differ from its component's gets its own copy of the component spec
(same code and name, so the same cache key) under a key of its own in the pipeline's IR.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInputError

if TYPE_CHECKING:
    from mlcore.pipeline.dsl import Component, _Tracer

__all__ = ["TaskOptions", "duration_seconds"]

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration_seconds(value: str | float | int, field: str) -> float:
    """Seconds of ``"30s"``, ``"2m"``, ``"1h"``, ``"500ms"`` or a number."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", str(value))
    if match is None:
        raise InvalidInputError(f"{field}: not a duration: {value!r} (write e.g. '30s')")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


class TaskOptions:
    """Mixed into :class:`mlcore.pipeline.dsl.Task`; every method returns the task."""

    name: str
    component: Component
    display_name: str | None
    _tracer: _Tracer

    def _override(self, **changes: Any) -> Any:
        old = self.component
        spec = old.spec.model_copy(update=changes, deep=True)
        if spec == old.spec:
            return self
        base: Component = getattr(old, "_base", old)  # the decorated component
        variant = copy.copy(base)
        variant.spec = spec
        variant._base = base  # type: ignore[attr-defined]
        if spec != base.spec:
            options = spec.model_dump(exclude={"code", "inputs", "outputs"})
            digest = hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()
            variant.key = f"{base.key}@{digest[:8]}"
        self.component = variant
        components = self._tracer.components
        components[variant.key] = spec
        if not any(t.component.key == old.key for t in self._tracer.tasks.values()):
            components.pop(old.key, None)
        return self

    def set_retry(
        self,
        num_retries: int,
        backoff_duration: str | float | None = None,
        backoff_factor: float | None = None,
        backoff_max_duration: str | None = None,
    ) -> Any:
        """Retry a failed attempt ``num_retries`` times, waiting ``backoff_duration``, then
        twice as long each time (mlcore's backoff factor is always 2)."""
        if not isinstance(num_retries, int) or num_retries < 0:
            raise InvalidInputError("set_retry: num_retries must be a non-negative integer")
        changes: dict[str, Any] = {"retries": num_retries}
        if backoff_duration is not None:
            changes["retry_backoff"] = duration_seconds(backoff_duration, "backoff_duration")
        return self._override(**changes)

    def set_caching_options(self, enable_caching: bool, cache_key: str = "") -> Any:
        """Reuse (or never reuse) earlier outputs of this step."""
        return self._override(cache=bool(enable_caching))

    def _resource(self, name: str, value: Any) -> Any:
        return self._override(resources={**self.component.spec.resources, name: str(value)})

    def set_cpu_limit(self, cpu: str) -> Any:
        """CPUs for this step (``"2"``, ``"500m"``); requests equal limits in mlcore."""
        return self._resource("cpu", cpu)

    def set_cpu_request(self, cpu: str) -> Any:
        return self._resource("cpu", cpu)

    def set_memory_limit(self, memory: str) -> Any:
        """Memory for this step (``"4G"``, ``"512Mi"``)."""
        return self._resource("memory", memory)

    def set_memory_request(self, memory: str) -> Any:
        return self._resource("memory", memory)

    def set_accelerator_type(self, accelerator: str) -> Any:
        """The accelerator resource name (``"nvidia.com/gpu"``); the count is
        :meth:`set_accelerator_limit` (default 1)."""
        resources = dict(self.component.spec.resources)
        count = "1"
        for key in [k for k in resources if k not in ("cpu", "memory")]:
            count = resources.pop(key)
        resources[str(accelerator)] = count
        return self._override(resources=resources)

    def set_accelerator_limit(self, limit: int | str) -> Any:
        resources = dict(self.component.spec.resources)
        kinds = [k for k in resources if k not in ("cpu", "memory")]
        resources[kinds[0] if kinds else "nvidia.com/gpu"] = str(limit)
        return self._override(resources=resources)

    def set_gpu_limit(self, gpu: int | str) -> Any:
        return self.set_accelerator_limit(gpu)

    def set_env_variable(self, name: str, value: str) -> Any:
        """An environment variable of this step."""
        return self._override(env={**self.component.spec.env, str(name): str(value)})

    def set_display_name(self, name: str) -> Any:
        """The name shown for this step (its step name stays unique)."""
        self.display_name = str(name)
        return self

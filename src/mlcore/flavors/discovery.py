"""Finding a flavor: by name (the ``mlcore.flavors`` entry points) or by looking at an object."""

from __future__ import annotations

from typing import Any

from mlcore import plugins
from mlcore.errors import InvalidInputError, PluginNotFoundError
from mlcore.flavors.base import Flavor

__all__ = ["detect_flavor", "resolve_flavor"]


def resolve_flavor(name: str) -> Flavor:
    """The flavor registered as ``name``.

    Raises:
        PluginNotFoundError: no such flavor (the message lists the installed ones).
    """
    if not isinstance(name, str) or not name:
        raise InvalidInputError("a flavor is named by a non-empty string", field="flavor")
    flavor_class = plugins.load("mlcore.flavors", name, expect=Flavor)
    flavor: Flavor = flavor_class()
    return flavor


def detect_flavor(obj: Any) -> Flavor:
    """The first flavor (by priority) that can save ``obj``.

    Raises:
        InvalidInputError: no installed flavor recognises the object.
    """
    candidates = []
    for info in plugins.available("mlcore.flavors"):
        try:
            flavor_class = plugins.load("mlcore.flavors", info.name, expect=Flavor)
        except PluginNotFoundError:
            continue  # a flavor whose framework is not installed
        candidates.append(flavor_class)
    for flavor_class in sorted(candidates, key=lambda c: (c.priority, c.name)):
        if flavor_class.can_save(obj):
            flavor: Flavor = flavor_class()
            return flavor
    raise InvalidInputError(
        f"no flavor can save a {type(obj).__module__}.{type(obj).__qualname__}: it is not a "
        "model of an installed framework and has no predict() and is not callable; pass "
        "flavor=... or wrap it in an object with predict()",
        field="model",
    )

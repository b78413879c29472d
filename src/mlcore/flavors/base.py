"""``Flavor``: how one framework's models are saved, loaded, run and exported.

A flavor is a plugin in the ``mlcore.flavors`` entry-point group (built-ins: ``sklearn``,
``xgboost``, ``torch``, ``onnx``, ``python``). mlcore handles everything around it — the
manifest, hashes, signature, input conversion — so a flavor implements only what is
framework-specific. Flavors import their framework inside methods, never at module import.
"""

from __future__ import annotations

import abc
import functools
import importlib.metadata
from typing import TYPE_CHECKING, Any, ClassVar

from mlcore.errors import InvalidInputError

if TYPE_CHECKING:
    from mlcore.flavors.verified import VerifiedFiles

__all__ = ["Flavor"]


class Flavor(abc.ABC):
    """Save/load/predict for one framework.

    Class attributes:
        name: the flavor key (entry-point name).
        framework: the distribution whose version is recorded (``scikit-learn``).
        priority: detection order, lower first (``python``, the catch-all, is last).
        input_kind: how a ``columns`` input reaches ``predict``: ``"dataframe"`` (pandas) or
            ``"array"`` (a 2-D ndarray in signature column order).
        unpickles: whether loading runs a pickle (any code the files hold); loading such a
            model without a recorded hash logs a warning.
    """

    name: ClassVar[str] = ""
    framework: ClassVar[str | None] = None
    priority: ClassVar[int] = 100
    input_kind: ClassVar[str] = "dataframe"
    unpickles: ClassVar[bool] = True
    #: packages a loaded model of this flavor needs besides ``framework``
    extra_requirements: ClassVar[tuple[str, ...]] = ("numpy",)

    @classmethod
    @abc.abstractmethod
    def can_save(cls, obj: Any) -> bool:
        """Whether ``obj`` is a model of this flavor (cheap: no framework import)."""

    @abc.abstractmethod
    def save(self, obj: Any, directory: str, **options: Any) -> dict[str, Any]:
        """Write ``obj`` into ``directory``; return options to store in the manifest."""

    @abc.abstractmethod
    def load(self, directory: str, options: dict[str, Any]) -> Any:
        """Load the native model saved in ``directory`` (hashes are already verified)."""

    def load_verified(self, files: VerifiedFiles, options: dict[str, Any]) -> Any:
        """Load the native model from its verified bytes (``files``: manifest name -> bytes).

        What :func:`~mlcore.flavors.load_model` calls. The default runs :meth:`load` on a
        private copy of the verified bytes; a flavor whose library reads from memory
        overrides this and never touches a path.
        """
        return self.load(files.private_directory(), options)

    def predict(self, native: Any, data: Any, options: dict[str, Any]) -> Any:
        """Run ``native`` on already-converted ``data``."""
        return native.predict(data)

    def to_onnx(self, native: Any, sample: Any) -> Any:
        """An ``onnx.ModelProto`` of ``native`` (``sample`` is a representative input)."""
        raise InvalidInputError(f"the {self.name} flavor cannot export to ONNX")

    # -- versions and requirements ----------------------------------------------------------------
    @classmethod
    def framework_version(cls) -> str | None:
        if cls.framework is None:
            return None
        try:
            return importlib.metadata.version(cls.framework)
        except importlib.metadata.PackageNotFoundError:
            return None

    @classmethod
    def requirements(cls) -> list[str]:
        """Pinned pip requirements, read from installed metadata (no subprocess)."""
        packages = (cls.framework, *cls.extra_requirements, "cloudpickle")
        return sorted({p for p in map(installed_pin, packages) if p is not None})


@functools.lru_cache(maxsize=256)
def installed_pin(package: str | None) -> str | None:
    """``package==version`` of the installed distribution (cached: reading distribution
    metadata costs a millisecond a package, and installed versions do not change under a
    running process)."""
    if package is None:
        return None
    try:
        return pin(package, importlib.metadata.version(package))
    except importlib.metadata.PackageNotFoundError:
        return None


def pin(package: str, version: str) -> str:
    """``package==version`` without a local label (``2.13.0+cpu`` -> ``2.13.0``), which an
    index could not resolve."""
    return f"{package}=={version.split('+', 1)[0]}"

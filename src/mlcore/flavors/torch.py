"""The ``torch`` flavor: ``nn.Module`` as architecture + state dict, or TorchScript.

Architecture: the module is cloudpickled with every tensor replaced by a reference
(``persistent_id``), so ``architecture.pkl`` holds only structure and ``weights.pt`` holds the
tensors, loaded with ``torch.load(weights_only=True)``. Tied weights stay tied. A
``torch.jit.ScriptModule`` (or ``torchscript=True``) is saved with TorchScript instead, which
needs no pickle at all.
"""

from __future__ import annotations

import io
import os
import pickle
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from mlcore.flavors.base import Flavor

if TYPE_CHECKING:
    from mlcore.flavors.verified import VerifiedFiles

__all__ = ["TorchFlavor"]

ARCHITECTURE_FILE = "architecture.pkl"
WEIGHTS_FILE = "weights.pt"
SCRIPT_FILE = "model.torchscript.pt"


class TorchFlavor(Flavor):
    name = "torch"
    framework = "torch"
    priority = 20
    input_kind = "array"
    extra_requirements: ClassVar[tuple[str, ...]] = ("numpy",)

    @classmethod
    def can_save(cls, obj: Any) -> bool:
        module = sys.modules.get("torch")
        return module is not None and isinstance(obj, module.nn.Module)

    @classmethod
    def framework_version(cls) -> str | None:
        module = sys.modules.get("torch")
        return str(module.__version__) if module is not None else super().framework_version()

    def save(self, obj: Any, directory: str, **options: Any) -> dict[str, Any]:
        import torch

        if isinstance(obj, torch.jit.ScriptModule) or options.get("torchscript"):
            scripted = obj if isinstance(obj, torch.jit.ScriptModule) else torch.jit.script(obj)
            torch.jit.save(scripted, os.path.join(directory, SCRIPT_FILE))
            return {"format": "torchscript", "file": SCRIPT_FILE}
        tensors: list[Any] = []
        buffer = io.BytesIO()
        _TensorRefPickler(buffer, tensors).dump(obj)
        with open(os.path.join(directory, ARCHITECTURE_FILE), "wb") as handle:
            handle.write(buffer.getvalue())
        torch.save(tensors, os.path.join(directory, WEIGHTS_FILE))
        return {"format": "state", "architecture": ARCHITECTURE_FILE, "weights": WEIGHTS_FILE}

    def load(self, directory: str, options: dict[str, Any]) -> Any:
        import torch

        if options.get("format") == "torchscript":
            module = torch.jit.load(  # type: ignore[no-untyped-call]
                os.path.join(directory, options["file"]), map_location="cpu"
            )
        else:
            tensors = torch.load(
                os.path.join(directory, options["weights"]), map_location="cpu", weights_only=True
            )
            with open(os.path.join(directory, options["architecture"]), "rb") as handle:
                module = _TensorRefUnpickler(handle, tensors).load()
        module.eval()
        return module

    def load_verified(self, files: VerifiedFiles, options: dict[str, Any]) -> Any:
        import torch

        if options.get("format") == "torchscript":
            module = torch.jit.load(  # type: ignore[no-untyped-call]
                io.BytesIO(files[options["file"]]), map_location="cpu"
            )
        else:
            tensors = torch.load(
                io.BytesIO(files[options["weights"]]), map_location="cpu", weights_only=True
            )
            architecture = io.BytesIO(files[options["architecture"]])
            module = _TensorRefUnpickler(architecture, tensors).load()
        module.eval()
        return module

    def predict(self, native: Any, data: Any, options: dict[str, Any]) -> Any:
        import numpy as np
        import torch

        parameter = next(iter(native.parameters()), None)
        dtype = parameter.dtype if parameter is not None else torch.float32

        def tensor(value: Any) -> Any:
            if isinstance(value, torch.Tensor):
                return value
            array = np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value)
            if not array.flags.writeable:  # torch cannot wrap read-only memory
                array = array.copy()
            result = torch.as_tensor(array)
            return result.to(dtype) if result.is_floating_point() else result

        with torch.no_grad():
            if isinstance(data, Mapping):
                output = native(**{k: tensor(v) for k, v in data.items()})
            else:
                output = native(tensor(data))
        if isinstance(output, torch.Tensor):
            return output.detach().cpu().numpy()
        return output

    def to_onnx(self, native: Any, sample: Any) -> Any:
        import warnings

        import numpy as np
        import onnx
        import torch

        array = np.asarray(sample.to_numpy() if hasattr(sample, "to_numpy") else sample)
        example = torch.as_tensor(array, dtype=torch.float32)
        native.eval()
        buffer = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                native,
                (example,),
                buffer,  # type: ignore[arg-type]  # file objects work too
                input_names=["input"],
                output_names=["output"],
                dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                dynamo=False,
            )
        return onnx.load_from_string(buffer.getvalue())


def _tensor_types() -> tuple[type, type]:
    import torch

    return torch.Tensor, torch.nn.Parameter


def _base_pickler() -> type:
    import cloudpickle

    return cloudpickle.Pickler  # type: ignore[no-any-return]


class _TensorRefPickler(_base_pickler()):  # type: ignore[misc]
    """cloudpickle with tensors moved out of the pickle (into ``tensors``)."""

    def __init__(self, file: Any, tensors: list[Any]) -> None:
        super().__init__(file, protocol=5)
        self.tensors = tensors
        self.seen: dict[int, int] = {}
        self.tensor_type: Any
        self.parameter_type: Any
        self.tensor_type, self.parameter_type = _tensor_types()

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, self.tensor_type):
            key = id(obj)
            if key not in self.seen:
                self.seen[key] = len(self.tensors)
                self.tensors.append(obj.detach().cpu())
            is_parameter = isinstance(obj, self.parameter_type)
            return ("tensor", self.seen[key], is_parameter, bool(obj.requires_grad))
        return None


class _TensorRefUnpickler(pickle.Unpickler):
    def __init__(self, file: Any, tensors: list[Any]) -> None:
        super().__init__(file)
        self.tensors = tensors
        self.made: dict[int, Any] = {}

    def persistent_load(self, pid: Any) -> Any:
        import torch

        kind, index, is_parameter, requires_grad = pid
        if kind != "tensor" or not 0 <= index < len(self.tensors):
            raise pickle.UnpicklingError(f"bad tensor reference {pid!r}")
        if index not in self.made:
            tensor = self.tensors[index]
            self.made[index] = (
                torch.nn.Parameter(tensor, requires_grad=requires_grad) if is_parameter else tensor
            )
        return self.made[index]

"""Converting any built-in flavor's model to ONNX, and checking the result agrees.

sklearn through skl2onnx, xgboost through onnxmltools, torch through ``torch.onnx``. The
exported model is run through onnxruntime on the sample and compared with the original:
identical labels for classifiers, values within 1e-5 otherwise; a disagreement is an
:class:`~mlcore.errors.IntegrityError`, never a silently different model.
"""

from __future__ import annotations

import os
from typing import Any

from mlcore.errors import IntegrityError
from mlcore.flavors.discovery import detect_flavor
from mlcore.flavors.onnx import OnnxFlavor
from mlcore.flavors.package import LoadedModel

__all__ = ["export"]

TOLERANCE = 1e-5


def _native_output(flavor: Any, native: Any, sample: Any) -> Any:
    import numpy as np

    output = flavor.predict(native, sample, {})
    if hasattr(output, "detach"):
        output = output.detach().cpu().numpy()
    return np.asarray(output)


def _agrees(native: Any, exported: Any) -> bool:
    import numpy as np

    if native.dtype.kind in "iubUSO" or exported.dtype.kind in "iubUSO":
        return bool(np.array_equal(native.reshape(-1), exported.reshape(-1).astype(native.dtype)))
    if native.shape != exported.shape and native.size == exported.size:
        exported = exported.reshape(native.shape)
    return bool(np.allclose(native, exported, rtol=TOLERANCE, atol=TOLERANCE))


def export(
    model: Any,
    sample_input: Any,
    path: str | os.PathLike[str] | None = None,
    *,
    check: bool = True,
) -> Any:
    """Export ``model`` (a native model, or a :class:`LoadedModel`) to an ``onnx.ModelProto``.

    Args:
        sample_input: a representative batch (its width fixes the input shape; the batch
            dimension stays dynamic).
        path: also write the model there.
        check: run the exported model on ``sample_input`` and compare with the original.

    Raises:
        InvalidInputError: no ONNX converter for this kind of model.
        IntegrityError: the exported model's predictions differ from the original's.
    """
    import numpy as np

    if isinstance(model, LoadedModel):
        flavor, native = model.flavor, model.native
    else:
        flavor, native = detect_flavor(model), model
    proto = flavor.to_onnx(native, sample_input)
    if check:
        import onnxruntime

        sample = sample_input.to_numpy() if hasattr(sample_input, "to_numpy") else sample_input
        session = onnxruntime.InferenceSession(
            proto.SerializeToString(), providers=["CPUExecutionProvider"]
        )
        exported = np.asarray(OnnxFlavor.run(session, np.asarray(sample))[0])
        expected = _native_output(flavor, native, sample_input)
        if not _agrees(expected, exported):
            raise IntegrityError(
                f"the ONNX export of this {flavor.name} model disagrees with it on the sample "
                f"(max difference {_max_diff(expected, exported)})"
            )
    if path is not None:
        import onnx

        onnx.save_model(proto, os.fspath(path))
    return proto


def _max_diff(a: Any, b: Any) -> str:
    import numpy as np

    try:
        difference = np.abs(a.astype(float).reshape(-1) - b.astype(float).reshape(-1))
        return f"{float(np.max(difference)):.3g}"
    except (TypeError, ValueError):
        return "labels differ"

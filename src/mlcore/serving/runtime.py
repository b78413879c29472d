"""The model a server serves: loaded once, verified, and run the fastest safe way.

``ServedModel.load(model_uri)`` resolves ``models:/``, ``runs:/``, artifact URIs and local
directories through the tracker (every file's sha256 is checked before anything is
unpickled). When ``accelerate`` allows it, a scikit-learn model is compiled to ONNX and run with
onnxruntime — but only after the compiled model gave *the same predictions* as the native one on
the model's input example and a thousand rows drawn around it; otherwise the native model
serves, and ``runtime`` says which one does.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from mlcore.errors import InvalidInputError

if TYPE_CHECKING:
    from mlcore.flavors import LoadedModel
    from mlcore.tracking import Tracker

__all__ = ["ServedModel", "model_name_of"]

log = logging.getLogger("mlcore.serving")

Accelerate = Literal["auto", "onnx", "off"]
_NUMERIC = "biuf"
_VERIFY_ROWS = 1000
#: probability gap under which a compiled classifier's vote is re-decided natively
_TIE_GAP = 1e-4


@dataclass
class ServedModel:
    """A loaded model with its registry identity and the function that runs it."""

    loaded: LoadedModel
    name: str
    version: str
    uri: str
    runtime: str = "native"
    #: why acceleration was not used (empty when it is, or when it was not asked for)
    runtime_note: str = ""
    _onnx: Any = None
    _onnx_output: int = 0
    _classes: Any = None
    _output_shape: tuple[int, ...] = ()
    _output_dtype: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- loading ---------------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        model_uri: str,
        *,
        tracker: Tracker | None = None,
        name: str | None = None,
        accelerate: Accelerate = "auto",
        trust_unrecorded: bool | None = None,
    ) -> ServedModel:
        from mlcore.tracking import Tracker

        if accelerate not in ("auto", "onnx", "off"):
            raise InvalidInputError(
                f"accelerate must be 'auto', 'onnx' or 'off', got {accelerate!r}",
                field="accelerate",
            )
        owned = tracker is None
        tracker = tracker or Tracker()
        try:
            default_name, version, pinned = _identity(tracker, model_uri)
            loaded = tracker.load_model(pinned, trust_unrecorded=trust_unrecorded)
        finally:
            if owned:
                tracker.close()
        served = cls(loaded=loaded, name=name or default_name, version=version, uri=model_uri)
        if accelerate != "off":
            served._accelerate(strict=accelerate == "onnx")
        return served

    # -- what callers see ------------------------------------------------------------------------
    @property
    def signature(self) -> Any:
        return self.loaded.signature

    @property
    def flavor(self) -> str:
        return self.loaded.spec.flavor

    @property
    def column_names(self) -> list[str] | None:
        signature = self.signature
        if signature is None or signature.inputs.kind != "columns":
            return None
        return [c.name for c in signature.inputs.columns or []]

    @property
    def numeric_columns(self) -> bool:
        """Whether every input column is a number (a fast path skips pandas for these)."""
        signature = self.signature
        if signature is None or signature.inputs.kind != "columns":
            return False
        return all(_is_numeric(c.dtype) for c in signature.inputs.columns or [])

    @property
    def takes_arrays(self) -> bool:
        """Whether the runtime takes a 2-D array in column order for a columns signature."""
        return self._onnx is not None or self.loaded.flavor.input_kind == "array"

    def prepare(self, data: Any) -> Any:
        """``data`` checked against the signature and converted for the runtime.

        Raises:
            InvalidInputError: the input does not fit the signature (the message says how).
        """
        if self._onnx is not None:
            import numpy as np

            prepared = self.loaded.prepare(data)
            if hasattr(prepared, "to_numpy"):
                names = self.column_names
                prepared = prepared[names].to_numpy() if names else prepared.to_numpy()
            return np.ascontiguousarray(prepared, dtype=np.float64)
        return self.loaded.prepare(data)

    def prepare_split(self, columns: list[str], rows: list[Any]) -> Any:
        """A ``dataframe_split`` table (column names and rows) prepared for the runtime.

        Float-only models that take arrays get one ``numpy`` conversion and a column reorder;
        everything else (and any input the fast path cannot take as it is) goes through the
        signature's full checks, which name what is wrong.
        """
        if self._float_columns is not None and self.takes_arrays:
            fast = self._split_to_array(columns, rows)
            if fast is not None:
                return fast
        return self.prepare({name: [row[i] for row in rows] for i, name in enumerate(columns)})

    def _split_to_array(self, columns: list[str], rows: list[Any]) -> Any:
        import numpy as np

        expected = self._float_columns or []
        if len(columns) != len(expected) or set(columns) != set(expected):
            return None
        try:
            array = np.asarray(rows, dtype=np.float64)
        except (TypeError, ValueError):
            return None
        if array.ndim != 2 or array.shape[1] != len(expected) or array.shape[0] == 0:
            return None
        if columns != expected:
            array = array[:, [columns.index(name) for name in expected]]
        return array

    @functools.cached_property
    def _float_columns(self) -> list[str] | None:
        signature = self.signature
        if signature is None or signature.inputs.kind != "columns":
            return None
        specs = signature.inputs.columns or []
        if not all(_is_float(c.dtype) for c in specs):
            return None
        return [c.name for c in specs]

    def predict_prepared(self, prepared: Any) -> Any:
        """The model's output for an already prepared batch."""
        if self._onnx is not None:
            return self._run_onnx(prepared)
        output = self.loaded.flavor.predict(
            self.loaded.native, prepared, self.loaded.spec.flavor_options
        )
        if hasattr(output, "detach") and hasattr(output, "numpy"):
            output = output.detach().cpu().numpy()
        return output

    def predict(self, data: Any) -> Any:
        return self.predict_prepared(self.prepare(data))

    # -- ONNX acceleration -----------------------------------------------------------------------
    def _run_onnx(self, array: Any) -> Any:
        import numpy as np

        array = np.asarray(array)
        feed = array if array.dtype == np.float32 else array.astype(np.float32)
        outputs = self._onnx.run(None, {self._onnx.get_inputs()[0].name: feed})
        if self._classes is not None:
            return self._labels(array, np.asarray(outputs[1]))
        output = np.asarray(outputs[self._onnx_output]).reshape((len(array), *self._output_shape))
        if self._output_dtype is not None and output.dtype != self._output_dtype:
            output = output.astype(self._output_dtype)
        return output

    def _labels(self, array: Any, probabilities: Any) -> Any:
        """Labels from the compiled model's class probabilities; rows whose two best classes
        are closer than float32 sums can tell apart are decided by the native model, so labels
        match it exactly (a 50/50 vote of an even forest included)."""
        import numpy as np

        best = probabilities.argmax(axis=1)
        labels = self._classes[best]
        if probabilities.shape[1] > 1:
            top2 = np.partition(probabilities, -2, axis=1)[:, -2:]
            close = np.flatnonzero(top2[:, 1] - top2[:, 0] < _TIE_GAP)
            if len(close):
                native = self.loaded.native.predict(self._native_input(array[close]))
                labels = labels.copy()
                labels[close] = native
        return labels

    def _native_input(self, rows: Any) -> Any:
        names = self.column_names
        if names is not None and self.loaded.flavor.input_kind == "dataframe":
            import pandas as pd

            return pd.DataFrame(rows, columns=names)
        return rows

    def _accelerate(self, *, strict: bool) -> None:
        reason = self._try_onnx(strict=strict)
        if reason is None:
            self.runtime = "onnxruntime"
            log.info("serving %s through onnxruntime (verified against the native model)", self.uri)
        else:
            self.runtime_note = reason
            if strict:
                raise InvalidInputError(f"cannot serve {self.uri} through ONNX: {reason}")
            log.info("serving %s with its native runtime: %s", self.uri, reason)

    def _try_onnx(self, *, strict: bool) -> str | None:
        """Compile to ONNX and verify; ``None`` on success, else the reason it was not used."""
        if self.flavor != "sklearn":
            return f"the {self.flavor} flavor is served natively"
        signature = self.signature
        if signature is None or self.loaded.input_example is None:
            return "the model has no signature and input example to verify a compiled model"
        inputs = signature.inputs
        if inputs.kind == "columns" and not self.numeric_columns:
            return "the model takes non-numeric columns"
        if inputs.kind == "tensor" and len((inputs.tensors or [])[0].shape) != 2:
            return "the model does not take a 2-D array"
        if inputs.kind == "tensors":
            return "the model takes named tensors"
        method = self.loaded.spec.flavor_options.get("predict_method", "predict")
        if method not in ("predict", "predict_proba"):
            return f"predict method {method!r} is served natively"
        native = self.loaded.native
        is_classifier = getattr(native, "_estimator_type", None) == "classifier" or hasattr(
            native, "classes_"
        )
        if not strict and not (is_classifier and method == "predict"):
            return (
                "only a classifier's labels are compiled by default (they come out identical); "
                "pass accelerate='onnx' to serve scores through float32 onnxruntime"
            )
        try:
            import numpy as np
            import onnxruntime
        except ImportError:
            return "onnxruntime is not installed"
        try:
            sample = self._verification_rows()
            expected = np.asarray(self.predict_prepared(self.loaded.prepare(sample)))
            proto = self.loaded.flavor.to_onnx(native, _to_array(self.loaded.prepare(sample)))
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            session = onnxruntime.InferenceSession(
                proto.SerializeToString(), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # a converter without support for this estimator
            return f"ONNX conversion failed ({type(exc).__name__}: {exc})"
        output_index = 1 if method == "predict_proba" else 0
        if output_index >= len(session.get_outputs()):
            return "the compiled model has no matching output"
        labels = is_classifier and method == "predict"
        if labels:
            classes = getattr(native, "classes_", None)
            if classes is None or len(session.get_outputs()) < 2:
                return "the compiled classifier has no class probabilities"
            self._classes = np.asarray(classes)
        self._onnx, self._onnx_output = session, output_index
        self._output_shape = tuple(expected.shape[1:])
        self._output_dtype = expected.dtype if expected.dtype.kind != "O" else None
        try:
            got = self._run_onnx(np.asarray(_to_array(self.loaded.prepare(sample)), np.float64))
            same = _same(expected, got, exact=is_classifier and method == "predict")
        except Exception as exc:
            same = False
            log.debug("verifying the compiled model failed: %s", exc)
        if not same:
            self._onnx = self._classes = None
            return "the compiled model's predictions differ from the native model's"
        return None

    def _verification_rows(self) -> Any:
        """The input example plus rows drawn uniformly between its per-column bounds."""
        import numpy as np

        example = self.loaded.prepare(self.loaded.input_example)
        array = _to_array(example).astype(np.float64)
        low, high = np.nanmin(array, axis=0), np.nanmax(array, axis=0)
        span = np.where(high > low, high - low, np.maximum(np.abs(high), 1.0))
        rng = np.random.default_rng(0)
        drawn = low - 0.25 * span + rng.random((_VERIFY_ROWS, array.shape[1])) * 1.5 * span
        rows = np.vstack([array, drawn])
        names = self.column_names
        if names is None:
            return rows
        return {name: rows[:, i] for i, name in enumerate(names)}


def _to_array(prepared: Any) -> Any:
    import numpy as np

    if hasattr(prepared, "to_numpy"):
        return prepared.to_numpy()
    if isinstance(prepared, Mapping):
        return np.column_stack(list(prepared.values()))
    return np.asarray(prepared)


def _same(expected: Any, got: Any, *, exact: bool) -> bool:
    import numpy as np

    if expected.shape != got.shape:
        return False
    if exact or expected.dtype.kind not in "f":
        return bool(np.array_equal(expected, got))
    return bool(np.allclose(expected, got, rtol=1e-4, atol=1e-5))


def _is_float(dtype: str) -> bool:
    return _is_numeric(dtype) and dtype.startswith("float")


def _is_numeric(dtype: str) -> bool:
    if dtype in ("string", "str", "object") or dtype.startswith("datetime"):
        return False
    try:
        import numpy as np

        return np.dtype(dtype).kind in _NUMERIC
    except TypeError:
        return False


def _identity(tracker: Tracker, model_uri: str) -> tuple[str, str, str]:
    """(name, version, URI to load) for the OIP endpoints: the registered name and version
    number for ``models:/`` (an alias or stage is resolved once, so the server keeps serving the
    version it started with); otherwise the last path component and ``1``."""
    if not isinstance(model_uri, str) or not model_uri.strip():
        raise InvalidInputError("a model URI must be a non-empty string", field="model_uri")
    if model_uri.startswith("models:/"):
        from mlcore.stores.model_refs import resolve_model_version

        version = resolve_model_version(tracker.store, model_uri)
        return version.name, str(version.version), version.uri
    return model_name_of(model_uri), "1", model_uri


def model_name_of(model_uri: str) -> str:
    """The name a model URI implies, without loading anything: the registered name of a
    ``models:/`` URI, else the last path component."""
    if model_uri.startswith("models:/"):
        from mlcore.stores.model_refs import parse_models_uri

        return parse_models_uri(model_uri).name
    tail = model_uri.rstrip("/").rsplit("/", 1)[-1] or "model"
    return os.path.splitext(tail)[0] or "model"

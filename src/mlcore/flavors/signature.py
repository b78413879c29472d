"""Model signatures: what a model takes and returns, inferred from an input example and
enforced on every ``predict``.

Three kinds of input schema:

- ``columns``: named columns with dtypes (from a pandas DataFrame, a list of records or a dict
  of 1-D arrays);
- ``tensor``: one array with a dtype and a shape (``-1`` where the size may vary, the batch
  dimension always);
- ``tensors``: a dict of named arrays.

Enforcement converts what callers send (DataFrame, ndarray, dict of arrays, list of records,
nested lists) into what the model was trained on, casting only where no information is lost
(int -> float, float64 -> float32 for ONNX), and otherwise raises
:class:`~mlcore.errors.InvalidInputError` saying which column or dimension is wrong.

numpy is imported when a signature is used (every ML framework brings it); pandas only if
installed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from mlcore.errors import InvalidInputError

__all__ = [
    "ColumnSpec",
    "Schema",
    "Signature",
    "TensorSpec",
    "enforce",
    "infer_schema",
    "infer_signature",
]


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ColumnSpec(_Spec):
    name: str
    dtype: str


class TensorSpec(_Spec):
    name: str | None = None
    dtype: str
    shape: list[int]


class Schema(_Spec):
    kind: Literal["columns", "tensor", "tensors"]
    columns: list[ColumnSpec] | None = None
    tensors: list[TensorSpec] | None = None

    def describe(self) -> str:
        if self.kind == "columns":
            return "columns " + ", ".join(f"{c.name} ({c.dtype})" for c in self.columns or [])
        return "; ".join(
            f"{t.name + ': ' if t.name else ''}{t.dtype} {tuple(t.shape)}"
            for t in self.tensors or []
        )


class Signature(_Spec):
    inputs: Schema
    outputs: Schema | None = None


def _np() -> Any:
    try:
        import numpy
    except ImportError as exc:  # pragma: no cover - every flavor's framework brings numpy
        raise InvalidInputError("model signatures need numpy installed") from exc
    return numpy


def _pandas() -> Any | None:
    try:
        import pandas
    except ImportError:
        return None
    return pandas


def _dtype_name(dtype: Any) -> str:
    np = _np()
    dtype = np.dtype(dtype) if not isinstance(dtype, np.dtype) else dtype
    if dtype.kind in "OUS":
        return "string"
    if dtype.kind == "M":
        return "datetime64[ns]"
    return str(dtype.name)


def _is_dataframe(data: Any) -> bool:
    pd = _pandas()
    return pd is not None and isinstance(data, pd.DataFrame)


def _records_to_columns(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    np = _np()
    names: list[str] = []
    for record in records:
        for key in record:
            if key not in names:
                names.append(key)
    return {name: np.asarray([r.get(name) for r in records]) for name in names}


def _as_array(value: Any) -> Any:
    np = _np()
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
        return value.detach().cpu().numpy()
    return np.asarray(value)


def infer_schema(example: Any) -> Schema:
    """The schema of ``example`` (DataFrame, ndarray/tensor, dict of arrays, list of records,
    nested lists)."""
    if _is_dataframe(example):
        return Schema(
            kind="columns",
            columns=[
                ColumnSpec(name=str(name), dtype=_dtype_name(dtype))
                for name, dtype in example.dtypes.items()
            ],
        )
    if isinstance(example, Mapping):
        arrays = {str(k): _as_array(v) for k, v in example.items()}
        if all(a.ndim == 1 for a in arrays.values()):
            return Schema(
                kind="columns",
                columns=[ColumnSpec(name=k, dtype=_dtype_name(a.dtype)) for k, a in arrays.items()],
            )
        return Schema(
            kind="tensors",
            tensors=[
                TensorSpec(name=k, dtype=_dtype_name(a.dtype), shape=[-1, *a.shape[1:]])
                for k, a in arrays.items()
            ],
        )
    if isinstance(example, Sequence) and example and all(isinstance(r, Mapping) for r in example):
        return infer_schema(_records_to_columns(example))
    array = _as_array(example)
    if array.ndim == 0:
        raise InvalidInputError("an input example needs at least one dimension (a batch)")
    return Schema(
        kind="tensor",
        tensors=[TensorSpec(dtype=_dtype_name(array.dtype), shape=[-1, *array.shape[1:]])],
    )


def infer_signature(example: Any, output: Any = None) -> Signature:
    """Signature from an input example and, optionally, the model's output on it."""
    outputs = None
    if output is not None:
        try:
            outputs = infer_schema(output)
        except InvalidInputError:
            outputs = None
    return Signature(inputs=infer_schema(example), outputs=outputs)


def _compatible(given: Any, expected: Any) -> bool:
    if expected.kind in "OUS":
        return bool(given.kind in "OUS")
    if expected.kind == "b":
        return bool(given.kind == "b")
    if expected.kind in "iu":
        return bool(given.kind in "biu")
    if expected.kind == "f":
        return bool(given.kind in "biuf")
    if expected.kind == "M":
        return bool(given.kind in "MO")
    return bool(given == expected)


def _cast(values: Any, expected_name: str, what: str) -> Any:
    np = _np()
    if expected_name == "string":
        if values.dtype.kind in "OUS":
            return values
        raise InvalidInputError(
            f"{what} has dtype {_dtype_name(values.dtype)}, expected text", field=what
        )
    expected = np.dtype(expected_name)
    if values.dtype == expected:
        return values
    if values.dtype.kind == "O":  # e.g. numbers parsed from JSON with a None among them
        if any(isinstance(v, (str, bytes)) for v in values.reshape(-1)[:1000]):
            raise InvalidInputError(f"{what} holds text, expected {expected_name}", field=what)
        try:
            converted = values.astype(expected)
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"{what} holds values that are not {expected_name}", field=what
            ) from None
        return converted
    if not _compatible(values.dtype, expected):
        raise InvalidInputError(
            f"{what} has dtype {_dtype_name(values.dtype)}, expected {expected_name} "
            "(only casts that lose nothing are applied)",
            field=what,
        )
    converted = values.astype(expected)
    if expected.kind in "iu" and not np.array_equal(converted, values):
        raise InvalidInputError(f"{what} has values out of range for {expected_name}", field=what)
    return converted


def _check_shape(array: Any, spec: TensorSpec, what: str) -> None:
    expected = spec.shape
    if array.ndim != len(expected) or any(
        e != -1 and e != g for e, g in zip(expected, array.shape)
    ):
        shown = tuple("*" if e == -1 else e for e in expected)
        raise InvalidInputError(
            f"{what} has shape {tuple(array.shape)}, expected {shown} (* = any size)", field=what
        )


def _columns_from(data: Any, schema: Schema) -> dict[str, Any]:
    names = [c.name for c in schema.columns or []]
    if _is_dataframe(data):
        return {str(k): data[k].to_numpy() for k in data.columns}
    if isinstance(data, Mapping):
        return {str(k): _as_array(v).reshape(-1) for k, v in data.items()}
    if isinstance(data, Sequence) and data and all(isinstance(r, Mapping) for r in data):
        return _records_to_columns(data)
    array = _as_array(data)
    if array.ndim == 1 and len(names) == array.shape[0]:
        array = array.reshape(1, -1)
    if array.ndim != 2 or array.shape[1] != len(names):
        raise InvalidInputError(
            f"input of shape {tuple(array.shape)} does not fit the model's {len(names)} columns "
            f"({', '.join(names)}); send records or a table with those columns",
            field="input",
        )
    return {name: array[:, i] for i, name in enumerate(names)}


def enforce(data: Any, schema: Schema) -> Any:
    """Check ``data`` against ``schema`` and convert it to what the model expects.

    Returns a pandas DataFrame for ``columns`` schemas (a dict of arrays without pandas), an
    ndarray for ``tensor``, a dict of ndarrays for ``tensors``.

    Raises:
        InvalidInputError: missing or unexpected columns, a wrong dtype, a wrong shape.
    """
    np = _np()
    if data is None:
        raise InvalidInputError("no input given", field="input")
    if schema.kind == "columns":
        columns = _columns_from(data, schema)
        expected = [c.name for c in schema.columns or []]
        missing = [n for n in expected if n not in columns]
        extra = [n for n in columns if n not in expected]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing column(s) {', '.join(map(repr, missing))}")
            if extra:
                parts.append(f"unexpected column(s) {', '.join(map(repr, extra))}")
            raise InvalidInputError(
                f"input does not match the model signature: {'; '.join(parts)} "
                f"(expected: {', '.join(expected)})",
                field="input",
            )
        lengths = {len(columns[n]) for n in expected}
        if len(lengths) > 1:
            raise InvalidInputError("input columns have different lengths", field="input")
        cast = {
            c.name: _cast(np.asarray(columns[c.name]), c.dtype, f"column {c.name!r}")
            for c in schema.columns or []
        }
        pd = _pandas()
        return pd.DataFrame(cast) if pd is not None else cast
    if schema.kind == "tensor":
        spec = (schema.tensors or [])[0]
        if isinstance(data, Mapping):
            if len(data) != 1:
                raise InvalidInputError(
                    f"the model takes one tensor, got a dict of {len(data)}", field="input"
                )
            data = next(iter(data.values()))
        if _is_dataframe(data):
            data = data.to_numpy()
        array = _as_array(data)
        if array.ndim == len(spec.shape) - 1:  # a single example without its batch dimension
            array = array.reshape(1, *array.shape)
        _check_shape(array, spec, "input")
        return _cast(array, spec.dtype, "input")
    tensors = {}
    given = dict(data) if isinstance(data, Mapping) else None
    if given is None:
        raise InvalidInputError(
            f"the model takes named tensors ({schema.describe()}); send a dict", field="input"
        )
    for spec in schema.tensors or []:
        if spec.name not in given:
            raise InvalidInputError(f"missing input tensor {spec.name!r}", field="input")
        array = _as_array(given.pop(spec.name))
        _check_shape(array, spec, f"tensor {spec.name!r}")
        tensors[spec.name or ""] = _cast(array, spec.dtype, f"tensor {spec.name!r}")
    if given:
        raise InvalidInputError(f"unexpected input tensor(s) {sorted(given)}", field="input")
    return tensors


def to_batch(data: Any) -> Any:
    """Input as a model-friendly batch when there is no signature: DataFrame, ndarray or dict
    pass through; records become a DataFrame (or a dict of arrays)."""
    if isinstance(data, Sequence) and data and all(isinstance(r, Mapping) for r in data):
        columns = _records_to_columns(data)
        pd = _pandas()
        return pd.DataFrame(columns) if pd is not None else columns
    if isinstance(data, (list, tuple)):
        return _as_array(data)
    return data

"""KServe's Open Inference Protocol (v2): request tensors in, response tensors out.

An ``infer`` request holds ``inputs``, each ``{"name", "datatype", "shape", "data"}`` with
``data`` flat in row-major order (nested lists are accepted too). How inputs meet the model:

- a model with named columns takes either one input per column (shape ``[n]`` or ``[n, 1]``,
  as MLServer sends them) or one ``[n, columns]`` input in signature column order (as KServe's
  sklearn server does);
- a tensor model takes its one input; a model of named tensors takes them by name.

Every mismatch — an unknown datatype, a ``data`` length that does not fill ``shape``, a missing
input — is an :class:`~mlcore.errors.InvalidInputError` naming the input.
"""

from __future__ import annotations

import json
import math
import uuid
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInputError

if TYPE_CHECKING:
    from mlcore.serving.runtime import ServedModel

__all__ = [
    "DATATYPES",
    "datatype_of",
    "decode_tensor",
    "infer_response",
    "model_metadata",
    "parse_infer",
]

#: OIP datatype -> numpy dtype name
DATATYPES = {
    "BOOL": "bool",
    "UINT8": "uint8",
    "UINT16": "uint16",
    "UINT32": "uint32",
    "UINT64": "uint64",
    "INT8": "int8",
    "INT16": "int16",
    "INT32": "int32",
    "INT64": "int64",
    "FP16": "float16",
    "FP32": "float32",
    "FP64": "float64",
    "BYTES": "object",
}
_NUMPY_TO_OIP = {v: k for k, v in DATATYPES.items() if k != "BYTES"}


def datatype_of(dtype: Any) -> str:
    """The OIP datatype of a numpy dtype (or of a signature dtype name)."""
    import numpy as np

    if isinstance(dtype, str) and dtype in ("string", "str", "object"):
        return "BYTES"
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        return "BYTES"
    return _NUMPY_TO_OIP.get(dtype.name, "BYTES")


# -- metadata --------------------------------------------------------------------------------------
def model_metadata(model: ServedModel) -> dict[str, Any]:
    """``GET /v2/models/{name}``: name, versions, platform, input and output tensors."""
    signature = model.signature
    inputs: list[dict[str, Any]] = []
    outputs: list[dict[str, Any]] = []
    if signature is not None:
        inputs = _tensors_of(signature.inputs)
        if signature.outputs is not None:
            outputs = _tensors_of(signature.outputs, default="predict")
    return {
        "name": model.name,
        "versions": [model.version],
        "platform": f"mlcore-{model.flavor}",
        "inputs": inputs,
        "outputs": outputs,
        "parameters": {"runtime": model.runtime, "uri": model.uri},
    }


def _tensors_of(schema: Any, default: str = "input-0") -> list[dict[str, Any]]:
    if schema.kind == "columns":
        return [
            {"name": c.name, "datatype": datatype_of(c.dtype), "shape": [-1]}
            for c in schema.columns or []
        ]
    return [
        {"name": t.name or default, "datatype": datatype_of(t.dtype), "shape": list(t.shape)}
        for t in schema.tensors or []
    ]


# -- requests --------------------------------------------------------------------------------------
def parse_infer(body: bytes, model: ServedModel) -> tuple[Any, dict[str, Any]]:
    """(prepared batch, request) for ``POST /v2/models/{name}/infer``."""
    try:
        request = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInputError("the request body is not valid JSON", field="body") from None
    if not isinstance(request, dict):
        raise InvalidInputError("an inference request is a JSON object", field="body")
    raw_inputs = request.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise InvalidInputError(
            'an inference request needs "inputs": a non-empty list of tensors', field="inputs"
        )
    tensors = {}
    for i, raw in enumerate(raw_inputs):
        name, array = decode_tensor(raw, i)
        if name in tensors:
            raise InvalidInputError(f"input {name!r} is given twice", field="inputs")
        tensors[name] = array
    return _to_model_input(tensors, model), request


def decode_tensor(raw: Any, index: int = 0) -> tuple[str, Any]:
    """(name, ndarray) of one request tensor, with its datatype and shape checked."""
    import numpy as np

    if not isinstance(raw, dict):
        raise InvalidInputError(f"input {index} must be an object", field="inputs")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidInputError(f"input {index} needs a name", field="inputs")
    datatype = raw.get("datatype")
    if datatype not in DATATYPES:
        raise InvalidInputError(
            f"input {name!r}: datatype {datatype!r} is not one of {', '.join(DATATYPES)}",
            field=name,
        )
    shape = raw.get("shape")
    if (
        not isinstance(shape, list)
        or not shape
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    ):
        raise InvalidInputError(
            f"input {name!r}: shape must be a list of non-negative integers", field=name
        )
    data = raw.get("data")
    if not isinstance(data, list):
        raise InvalidInputError(f"input {name!r}: data must be a list", field=name)
    flat = _flatten(data)
    size = math.prod(shape)
    if len(flat) != size:
        raise InvalidInputError(
            f"input {name!r}: shape {shape} holds {size} values, data has {len(flat)}",
            field=name,
        )
    dtype = DATATYPES[datatype]
    if datatype == "BYTES":
        array = np.asarray([v if isinstance(v, str) else str(v) for v in flat], dtype=object)
    else:
        if any(isinstance(v, (str, dict, list)) or v is None for v in flat):
            raise InvalidInputError(f"input {name!r}: {datatype} data must be numbers", field=name)
        if datatype == "BOOL" and not all(isinstance(v, bool) for v in flat):
            raise InvalidInputError(f"input {name!r}: BOOL data must be true/false", field=name)
        try:
            array = np.asarray(flat, dtype=dtype)
        except (TypeError, ValueError, OverflowError):
            raise InvalidInputError(
                f"input {name!r}: values do not fit {datatype}", field=name
            ) from None
        if datatype.startswith(("INT", "UINT")) and not all(
            isinstance(v, (int, bool)) or float(v).is_integer() for v in flat
        ):
            raise InvalidInputError(f"input {name!r}: {datatype} data must be integers", field=name)
    return name, array.reshape(shape)


def _flatten(data: list[Any]) -> list[Any]:
    if not any(isinstance(v, list) for v in data):
        return data
    out: list[Any] = []
    stack = [iter(data)]
    while stack:
        for value in stack[-1]:
            if isinstance(value, list):
                stack.append(iter(value))
                break
            out.append(value)
        else:
            stack.pop()
    return out


def _to_model_input(tensors: dict[str, Any], model: ServedModel) -> Any:
    names = model.column_names
    if names is not None:
        if len(tensors) == 1 and next(iter(tensors)) not in names:
            (array,) = tensors.values()
            if array.ndim != 2 or array.shape[1] != len(names):
                raise InvalidInputError(
                    f"one input of shape [rows, {len(names)}] (columns {', '.join(names)}) or "
                    f"one input per column is expected; got shape {list(array.shape)}",
                    field="inputs",
                )
            return model.prepare({n: array[:, i] for i, n in enumerate(names)})
        columns = {}
        for name, array in tensors.items():
            if array.ndim == 2 and array.shape[1] == 1:
                array = array[:, 0]
            if array.ndim != 1:
                raise InvalidInputError(
                    f"input {name!r}: a column input has shape [rows] or [rows, 1], got "
                    f"{list(array.shape)}",
                    field=name,
                )
            columns[name] = array
        return model.prepare(columns)
    signature = model.signature
    if signature is not None and signature.inputs.kind == "tensors":
        return model.prepare(tensors)
    if len(tensors) == 1:
        return model.prepare(next(iter(tensors.values())))
    return model.prepare(tensors)


# -- responses -------------------------------------------------------------------------------------
def infer_response(model: ServedModel, output: Any, request: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    if hasattr(output, "columns") and hasattr(output, "to_numpy"):
        named = {str(c): output[c].to_numpy() for c in output.columns}
    elif isinstance(output, dict):
        named = {str(k): np.asarray(v) for k, v in output.items()}
    else:
        named = {"predict": np.asarray(output)}
    wanted = request.get("outputs")
    if isinstance(wanted, list) and wanted:
        names = [str(o.get("name")) for o in wanted if isinstance(o, dict)]
        unknown = [n for n in names if n not in named]
        if unknown:
            raise InvalidInputError(
                f"unknown output(s) {unknown}; this model has {sorted(named)}", field="outputs"
            )
        named = {n: named[n] for n in names}
    outputs = []
    for name, array in named.items():
        datatype = datatype_of(array.dtype)
        data = array.reshape(-1).tolist()
        if datatype == "BYTES":
            data = [v if isinstance(v, str) else str(v) for v in data]
        outputs.append(
            {"name": name, "datatype": datatype, "shape": list(array.shape), "data": data}
        )
    request_id = request.get("id")
    return {
        "model_name": model.name,
        "model_version": model.version,
        "id": request_id if isinstance(request_id, str) else str(uuid.uuid4()),
        "parameters": {},
        "outputs": outputs,
    }

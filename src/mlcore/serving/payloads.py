"""MLflow's scoring protocol for ``POST /invocations``.

JSON bodies hold exactly one of

- ``dataframe_split``: ``{"columns": [...], "data": [[...], ...]}`` (pandas ``orient="split"``);
- ``dataframe_records``: ``[{"column": value, ...}, ...]``;
- ``instances``: a list of rows, or of ``{"tensor name": value}`` dicts (TF-serving rows);
- ``inputs``: an array, or a dict of named arrays (TF-serving columns);

plus optional ``params``. ``text/csv`` bodies are a table with a header line. Responses are
``{"predictions": ...}``. Anything else is an :class:`~mlcore.errors.InvalidInputError` that
says what was expected.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInputError

if TYPE_CHECKING:
    from mlcore.serving.runtime import ServedModel

__all__ = [
    "CSV_TYPES",
    "FORMATS",
    "JSON_TYPES",
    "UnsupportedMediaType",
    "jsonable",
    "media_type",
    "parse_invocation",
    "predictions_body",
]

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
JSON_TYPES = ("application/json", "")
CSV_TYPES = ("text/csv", "application/csv")


class UnsupportedMediaType(InvalidInputError):
    """A body in a format ``/invocations`` does not read (HTTP 415)."""

    code = "UNSUPPORTED_MEDIA_TYPE"


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def parse_invocation(body: bytes, content_type: str | None, model: ServedModel) -> Any:
    """The prepared batch an ``/invocations`` request asks predictions for."""
    kind = media_type(content_type)
    if kind in CSV_TYPES:
        return _parse_csv(body, model)
    if kind not in JSON_TYPES:
        raise UnsupportedMediaType(
            f"content type {kind!r} is not supported; send application/json (one of "
            f"{', '.join(FORMATS)}) or text/csv"
        )
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInputError("the request body is not valid JSON", field="body") from None
    if not isinstance(payload, dict):
        raise InvalidInputError(
            f"the request body must be a JSON object with one of {', '.join(FORMATS)}",
            field="body",
        )
    given = [key for key in FORMATS if key in payload]
    unknown = sorted(set(payload) - set(FORMATS) - {"params"})
    if unknown:
        raise InvalidInputError(
            f"unknown field(s) {', '.join(map(repr, unknown))}; send one of {', '.join(FORMATS)}",
            field=unknown[0],
        )
    if len(given) != 1:
        raise InvalidInputError(
            f"send exactly one of {', '.join(FORMATS)}"
            + (f" (got {', '.join(given)})" if given else ""),
            field="body",
        )
    if payload.get("params"):
        raise InvalidInputError("this model takes no inference params", field="params")
    key = given[0]
    value = payload[key]
    if key == "dataframe_split":
        return _parse_split(value, model)
    if key == "dataframe_records":
        if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
            raise InvalidInputError(
                "dataframe_records must be a list of {column: value} objects",
                field="dataframe_records",
            )
        _non_empty(value, key)
        return model.prepare(value)
    if key == "instances":
        if not isinstance(value, list):
            raise InvalidInputError("instances must be a list", field="instances")
        _non_empty(value, key)
        return model.prepare(value)  # rows, or records (a table, as dataframe_records)
    if isinstance(value, dict):  # inputs: named arrays
        _non_empty(value, key)
        return model.prepare(value)
    if not isinstance(value, list):
        raise InvalidInputError("inputs must be a list or an object of lists", field="inputs")
    _non_empty(value, key)
    return model.prepare(value)


def _non_empty(value: Any, key: str) -> None:
    if not value:
        raise InvalidInputError(f"{key} is empty: send at least one row", field=key)


def _parse_split(value: Any, model: ServedModel) -> Any:
    if not isinstance(value, dict) or "data" not in value:
        raise InvalidInputError(
            'dataframe_split must be {"columns": [...], "data": [[...], ...]}',
            field="dataframe_split",
        )
    data = value["data"]
    if not isinstance(data, list):
        raise InvalidInputError("dataframe_split.data must be a list of rows", field="data")
    _non_empty(data, "dataframe_split.data")
    columns = value.get("columns")
    if columns is None:
        columns = model.column_names
        if columns is None:  # a tensor model: the rows are the tensor
            return model.prepare(data)
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise InvalidInputError("dataframe_split.columns must be a list of names", field="columns")
    if len(set(columns)) != len(columns):
        raise InvalidInputError("dataframe_split.columns repeats a name", field="columns")
    for i, row in enumerate(data):
        if not isinstance(row, list) or len(row) != len(columns):
            raise InvalidInputError(
                f"dataframe_split.data row {i} must be a list of {len(columns)} values "
                f"(one per column)",
                field="data",
            )
    if model.column_names is None:
        return model.prepare(data)
    return model.prepare_split(columns, data)


def _parse_csv(body: bytes, model: ServedModel) -> Any:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInputError("the CSV body is not UTF-8 text", field="body") from None
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise InvalidInputError("the CSV body is empty: send a header line", field="body") from None
    try:
        rows = [row for row in reader if row]
    except csv.Error as exc:
        raise InvalidInputError(f"the CSV body is malformed: {exc}", field="body") from None
    _non_empty(rows, "the CSV body")
    for i, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise InvalidInputError(
                f"CSV line {i} has {len(row)} fields, the header {len(header)}", field="body"
            )
    columns = [name.strip() for name in header]
    seen: set[str] = set()
    for name in columns:
        if name in seen:
            raise InvalidInputError(
                f"the CSV header names column {name!r} more than once", field="body"
            )
        seen.add(name)
    if model.column_names is None:
        return model.prepare(_numbers(rows))
    typed = {name: _typed_column([row[i] for row in rows]) for i, name in enumerate(columns)}
    return model.prepare(typed)


def _typed_column(values: list[str]) -> Any:
    """A CSV column as ints, floats or text: the narrowest that holds every value."""
    import numpy as np

    for dtype in (np.int64, np.float64):
        try:
            return np.asarray([v if v.strip() else "nan" for v in values], dtype=dtype)
        except (TypeError, ValueError, OverflowError):
            continue
    return np.asarray(values, dtype=object)


def _numbers(rows: list[list[str]]) -> Any:
    import numpy as np

    try:
        return np.asarray(rows, dtype=np.float64)
    except ValueError:
        raise InvalidInputError(
            "the CSV body holds values that are not numbers", field="body"
        ) from None


# -- responses -------------------------------------------------------------------------------------
def jsonable(output: Any) -> Any:
    """Model output as JSON values: arrays as (nested) lists, frames as records."""
    if hasattr(output, "to_dict") and hasattr(output, "columns"):
        return output.to_dict(orient="records")
    if isinstance(output, Mapping):
        return {str(k): jsonable(v) for k, v in output.items()}
    if hasattr(output, "tolist"):
        return output.tolist()
    if isinstance(output, (list, tuple)):
        return [jsonable(v) for v in output]
    return output


def predictions_body(output: Any) -> bytes:
    return json.dumps({"predictions": jsonable(output)}, separators=(",", ":")).encode()

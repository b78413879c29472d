"""Checks on names and values at the API boundary (no I/O, stdlib only).

They are cheap enough for the logging hot path: a key that passed once is remembered by the
caller (see ``tracking.writer``), so each distinct metric name is checked once per process.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any, TypeVar

from mlcore.errors import InvalidInputError

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "MAX_KEY_LENGTH",
    "MAX_NAME_LENGTH",
    "MAX_PARAM_VALUE_LENGTH",
    "MAX_TAG_VALUE_LENGTH",
    "check_key",
    "check_name",
    "check_request_values",
    "metric_value",
    "mlflow_alias",
    "mlflow_experiments",
    "numeric_or_none",
    "param_value",
    "step_value",
    "tag_value",
    "timestamp_ms",
]

_T = TypeVar("_T")


def mlflow_alias(
    function: str, name: str, value: _T | None, mlflow_name: str, mlflow_value: _T | None
) -> _T | None:
    """The argument given under mlcore's ``name`` or under MLflow's spelling of it
    (``mlflow_name``): None when neither was.

    Raises:
        TypeError: both spellings were given.
    """
    if mlflow_value is None:
        return value
    if value is not None:
        raise TypeError(
            f"{function}() got both {name}= and {mlflow_name}= (MLflow's name for {name}); "
            "pass only one"
        )
    return mlflow_value


def mlflow_experiments(
    experiments: str | Sequence[str] | None,
    experiment_ids: str | Sequence[str] | None,
    experiment_names: str | Sequence[str] | None,
) -> str | Sequence[str] | None:
    """``search_runs``' experiments, given as mlcore's ``experiments`` (names or ids) or as
    MLflow's ``experiment_ids`` or ``experiment_names``.

    Raises:
        TypeError: more than one of them was given.
    """
    if experiment_ids is not None and experiment_names is not None:
        raise TypeError("search_runs() got both experiment_ids= and experiment_names=; pass one")
    if experiment_ids is not None:
        return mlflow_alias(
            "search_runs", "experiments", experiments, "experiment_ids", experiment_ids
        )
    return mlflow_alias(
        "search_runs", "experiments", experiments, "experiment_names", experiment_names
    )


MAX_KEY_LENGTH = 250
MAX_NAME_LENGTH = 256
MAX_PARAM_VALUE_LENGTH = 8000
MAX_TAG_VALUE_LENGTH = 65535
#: steps and timestamps are stored as signed 64-bit integers
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# C0 and C1 control characters, DEL, and the Unicode line/paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Lone surrogates (e.g. from os.fsdecode of bytes that are not UTF-8) cannot be stored.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _check_text(kind: str, value: object, max_length: int, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(
            f"{kind} must be a string, got {type(value).__name__}: {value!r}", field=field
        )
    if not value or not value.strip():
        raise InvalidInputError(f"{kind} must not be empty", field=field)
    if len(value) > max_length:
        raise InvalidInputError(
            f"{kind} is {len(value)} characters long; the limit is {max_length}: {value[:40]!r}...",
            field=field,
        )
    if _CONTROL.search(value):
        raise InvalidInputError(f"{kind} contains a control character: {value!r}", field=field)
    if not value.isascii() and _SURROGATE.search(value):
        raise InvalidInputError(
            f"{kind} is not valid Unicode (it holds a lone surrogate, as os.fsdecode makes of "
            f"bytes that are not UTF-8): {value!r}",
            field=field,
        )
    if value != value.strip():
        raise InvalidInputError(
            f"{kind} must not start or end with whitespace: {value!r}", field=field
        )
    return value


def check_key(value: object, kind: str = "key") -> str:
    """Validate a metric, param or tag key."""
    return _check_text(kind, value, MAX_KEY_LENGTH, kind)


def check_name(value: object, kind: str = "name") -> str:
    """Validate an experiment, run or model name."""
    return _check_text(kind, value, MAX_NAME_LENGTH, kind)


def metric_value(value: Any, key: str) -> float:
    """Return ``value`` as a float, or raise InvalidInputError for a non-number.

    Accepts Python and NumPy numbers, 0-d tensors and anything else with ``__float__``;
    refuses strings, bytes, None and containers.
    """
    if type(value) is float:
        return value
    if isinstance(value, (str, bytes, bytearray)) or not (
        hasattr(type(value), "__float__") or hasattr(type(value), "__index__")
    ):
        raise InvalidInputError(
            f"metric {key!r} must be a number, got {type(value).__name__}: {value!r:.60}",
            field=key,
        )
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidInputError(
            f"metric {key!r} must be a number, got {type(value).__name__}: {value!r:.60}",
            field=key,
        ) from exc


def _int64(value: Any, field: str) -> int:
    if isinstance(value, bool) or not hasattr(type(value), "__index__"):
        raise InvalidInputError(
            f"{field} must be an integer, got {type(value).__name__}: {value!r:.60}",
            field=field,
        )
    number = value if type(value) is int else int(value.__index__())
    if not INT64_MIN <= number <= INT64_MAX:
        shown = str(number) if number.bit_length() < 256 else f"of {number.bit_length()} bits"
        raise InvalidInputError(
            f"{field} {shown} is out of range: it must fit in 64 bits ({INT64_MIN} to {INT64_MAX})",
            field=field,
        )
    return number


def step_value(step: Any) -> int:
    """Return ``step`` as an int (Python or NumPy integer) that fits in 64 bits, else raise
    InvalidInputError."""
    if type(step) is int and INT64_MIN <= step <= INT64_MAX:
        return step
    return _int64(step, "step")


def timestamp_ms(value: Any) -> int:
    """Validate a millisecond timestamp (an int, or a finite float, from 0 to 2**63 - 1)."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInputError("timestamp must be finite", field="timestamp")
        value = int(value)
    ts = _int64(value, "timestamp")
    if ts < 0:
        raise InvalidInputError("timestamp must not be negative", field="timestamp")
    return ts


def _stored_text(kind: str, key: str, value: Any, limit: int) -> str:
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        raise InvalidInputError(
            f"{kind} {key!r} value is {len(text)} characters; the limit is {limit}", field=key
        )
    return text


def param_value(key: str, value: Any) -> str:
    """Return the string form a param is stored as, checking its length."""
    return _stored_text("param", key, value, MAX_PARAM_VALUE_LENGTH)


def tag_value(key: str, value: Any) -> str:
    """Return the string form a tag is stored as, checking its length."""
    return _stored_text("tag", key, value, MAX_TAG_VALUE_LENGTH)


def numeric_or_none(text: str) -> float | None:
    """The numeric reading of a stored param value, used for ``params.x > 0.1`` filters."""
    if not text or len(text) > 64:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


#: how deeply a value received over the API may nest (lists, dicts)
MAX_NESTING = 100
_INT64 = 2**63
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def check_request_values(value: Any, field: str | None = None, _depth: int = 0) -> None:
    """Refuse what no store can hold, anywhere in a received value: strings with lone
    surrogates, integers outside a signed 64-bit range, nesting deeper than :data:`MAX_NESTING`.
    """
    where = f"{field}: " if field else ""
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise InvalidInputError(
                f"{where}text contains a lone surrogate (not valid Unicode)", field=field
            )
    elif isinstance(value, bool) or value is None or isinstance(value, float):
        return
    elif isinstance(value, int):
        if not -_INT64 <= value < _INT64:
            raise InvalidInputError(
                f"{where}integer {str(value)[:30]}... is outside the signed 64-bit range"
                if len(str(value)) > 30
                else f"{where}integer {value} is outside the signed 64-bit range",
                field=field,
            )
    elif isinstance(value, dict | list | tuple):
        if _depth >= MAX_NESTING:
            raise InvalidInputError(
                f"{where}value is nested deeper than {MAX_NESTING} levels", field=field
            )
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for k, v in items:
            if isinstance(k, str):
                check_request_values(k, field, _depth + 1)
            check_request_values(v, field, _depth + 1)

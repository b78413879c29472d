"""Turning Python objects into artifact bytes: dicts (JSON/YAML), text and figures."""

from __future__ import annotations

import datetime
import io
import json
from collections.abc import Mapping
from typing import Any

from mlcore.errors import InvalidInputError

__all__ = ["encode_dict", "encode_figure", "encode_text", "plain_data"]


def encode_dict(data: Any, artifact_file: str) -> bytes:
    """JSON, or YAML when the file name ends in .yaml/.yml.

    Mappings of any kind (``OrderedDict``, ``defaultdict``, a user's ``dict`` subclass),
    tuples, sets and numpy values are written as the plain data they hold (see
    :func:`plain_data`).

    Raises:
        InvalidInputError: ``data`` is not a mapping or list, or (YAML) holds a value YAML
            cannot represent; the message names ``artifact_file`` and where the value is.
    """
    if not isinstance(data, (Mapping, list, tuple)):
        raise InvalidInputError(
            f"log_dict needs a dict or list, got {type(data).__name__}", field="dictionary"
        )
    yaml_file = artifact_file.lower().endswith((".yaml", ".yml"))
    try:
        plain = plain_data(data, strict=yaml_file)
    except _Unrepresentable as exc:
        raise InvalidInputError(
            f"log_dict cannot write {artifact_file!r}: the value at {exc.where} is a "
            f"{exc.kind}, which YAML cannot represent; convert it to a str, number, list or "
            "dict (or log the file as .json, which writes such values as text)",
            field="dictionary",
        ) from None
    if yaml_file:
        import yaml

        return yaml.safe_dump(plain, sort_keys=False, allow_unicode=True).encode()
    try:
        return json.dumps(plain, indent=2, default=str).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"log_dict cannot write {artifact_file!r}: not serialisable: {exc}",
            field="dictionary",
        ) from exc


class _Unrepresentable(Exception):
    def __init__(self, where: str, kind: str) -> None:
        super().__init__(where)
        self.where = where
        self.kind = kind


_YAML_EXTRA = (bytes, datetime.date)  # safe_dump writes these too (!!binary, timestamps)


def plain_data(value: Any, *, strict: bool = False, where: str = "top level") -> Any:
    """``value`` as plain dicts, lists, str, int, float, bool and None.

    Mappings become dicts (order kept), tuples and sets lists, numpy scalars and arrays
    Python numbers and lists, subclasses of str/int/float their base type. Anything else is
    kept as it is, or with ``strict`` refused (``_Unrepresentable``, naming where it is).
    """
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return value if type(value) is str else str.__str__(value)
    if isinstance(value, int):
        return value if type(value) is int else int(value)
    if isinstance(value, float):
        return value if type(value) is float else float(value)
    if isinstance(value, Mapping):
        return {
            plain_data(k, strict=strict, where=f"{where} key {k!r}"): plain_data(
                v, strict=strict, where=_inside(where, k)
            )
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [plain_data(v, strict=strict, where=_inside(where, i)) for i, v in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        items = [plain_data(v, strict=strict, where=where) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return plain_data(value.tolist(), strict=strict, where=where)  # scalar or array
    if not strict or isinstance(value, _YAML_EXTRA):
        return value
    raise _Unrepresentable(where, type(value).__name__)


def _inside(where: str, key: Any) -> str:
    step = f"[{key!r}]"
    return step if where == "top level" else where + step


def encode_text(text: Any) -> bytes:
    if not isinstance(text, str):
        raise InvalidInputError(f"log_text needs a str, got {type(text).__name__}", field="text")
    return text.encode()


def encode_figure(figure: Any, artifact_file: str) -> bytes:
    """A matplotlib or plotly figure rendered to the format of ``artifact_file``'s extension.

    matplotlib: any format ``savefig`` knows (png, svg, pdf, ...). plotly: ``.html`` always;
    image formats through ``to_image`` (needs kaleido).
    """
    extension = artifact_file.rsplit(".", 1)[-1].lower() if "." in artifact_file else ""
    module = type(figure).__module__
    if module.startswith("matplotlib") and hasattr(figure, "savefig"):
        buffer = io.BytesIO()
        figure.savefig(buffer, format=extension or "png", bbox_inches="tight")
        return buffer.getvalue()
    if module.startswith("plotly"):
        if extension in ("html", "htm"):
            return str(figure.to_html(full_html=True, include_plotlyjs="cdn")).encode()
        try:
            return bytes(figure.to_image(format=extension or "png"))
        except Exception as exc:
            raise InvalidInputError(
                f"plotly cannot render {artifact_file!r} ({exc}); log it as .html or install "
                "kaleido",
                field="artifact_file",
            ) from exc
    raise InvalidInputError(
        f"log_figure supports matplotlib and plotly figures, got {type(figure).__name__}",
        field="figure",
    )

"""Turning Python objects into artifact bytes: dicts (JSON/YAML), text and figures."""

from __future__ import annotations

import io
import json
from typing import Any

from mlcore.errors import InvalidInputError


def encode_dict(data: Any, artifact_file: str) -> bytes:
    """JSON, or YAML when the file name ends in .yaml/.yml."""
    if not isinstance(data, (dict, list)):
        raise InvalidInputError(
            f"log_dict needs a dict or list, got {type(data).__name__}", field="dictionary"
        )
    if artifact_file.lower().endswith((".yaml", ".yml")):
        import yaml

        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode()
    try:
        return json.dumps(data, indent=2, default=str).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"log_dict: not serialisable: {exc}", field="dictionary") from exc


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

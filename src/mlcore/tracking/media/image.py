"""``Image``: an image logged with ``log`` (W&B's ``wandb.Image``), stored as PNG."""

from __future__ import annotations

import io
import json
import os
from typing import Any, ClassVar

from mlcore.errors import InvalidInputError
from mlcore.tracking.media.base import Media

__all__ = ["Image"]


class Image(Media):
    """A numpy array (HxW grey, HxWx3 RGB, HxWx4 RGBA; floats in [0, 1] are scaled to 0-255),
    a PIL image, a matplotlib figure or a path to an image file; with an optional
    ``caption``, ``boxes`` (W&B's JSON layout, kept as given) and ``masks`` (``{"name":
    {"mask_data": 2-D int array, "class_labels": {...}}}``, kept as arrays). Read back as a
    PIL image; caption, boxes and masks come in the record's ``metadata``."""

    kind: ClassVar[str] = "image"
    extension: ClassVar[str] = "png"

    def __init__(
        self,
        data_or_path: Any,
        mode: str | None = None,
        caption: str | None = None,
        boxes: dict[str, Any] | None = None,
        masks: dict[str, Any] | None = None,
    ) -> None:
        if caption is not None and not isinstance(caption, str):
            raise InvalidInputError("caption must be a string", field="caption")
        self.caption = caption
        self._png = _png(data_or_path, mode)
        self.boxes = _json_able(boxes, "boxes")
        self.masks = _masks(masks)

    def to_bytes(self) -> bytes:
        return self._png

    def metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = {}
        if self.caption is not None:
            meta["caption"] = self.caption
        if self.boxes is not None:
            meta["boxes"] = self.boxes
        if self.masks is not None:
            meta["masks"] = self.masks
        return meta

    @classmethod
    def read(cls, data: bytes, metadata: dict[str, Any]) -> Any:
        from PIL import Image as PILImage

        image = PILImage.open(io.BytesIO(data))
        image.load()
        return image


def _png(data: Any, mode: str | None) -> bytes:
    from PIL import Image as PILImage

    image: Any
    if isinstance(data, (str, os.PathLike)):
        if not os.path.isfile(data):
            raise InvalidInputError(f"Image: no such file {os.fspath(data)!r}", field="data")
        image = PILImage.open(data)
    elif isinstance(data, PILImage.Image):
        image = data
    elif hasattr(data, "savefig"):  # a matplotlib figure
        buffer = io.BytesIO()
        data.savefig(buffer, format="png")
        return buffer.getvalue()
    else:
        image = PILImage.fromarray(_uint8(data), mode=mode) if mode else _from_array(data)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _uint8(data: Any) -> Any:
    import numpy as np

    if hasattr(data, "detach"):  # a torch tensor (CxHxW as W&B takes it)
        data = data.detach().cpu().numpy()
        if data.ndim == 3 and data.shape[0] in (1, 3, 4):
            data = np.moveaxis(data, 0, -1)
    try:
        array = np.asarray(data)
    except Exception as exc:
        raise InvalidInputError(f"Image cannot read {type(data).__name__}: {exc}") from exc
    if array.dtype == object or array.size == 0:
        raise InvalidInputError(
            f"Image needs a numeric array, a PIL image or a path; got {type(data).__name__}",
            field="data",
        )
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)):
        raise InvalidInputError(
            f"Image array must be HxW, HxWx3 or HxWx4, got shape {array.shape}", field="data"
        )
    if array.dtype.kind == "f":
        array = np.nan_to_num(array)
        if array.max(initial=0.0) <= 1.0 and array.min(initial=0.0) >= 0.0:
            array = array * 255.0
    return np.clip(array, 0, 255).astype(np.uint8)


def _from_array(data: Any) -> Any:
    from PIL import Image as PILImage

    return PILImage.fromarray(_uint8(data))


def _json_able(value: Any, field: str) -> Any:
    if value is None:
        return None
    try:
        return json.loads(json.dumps(value, default=_plain))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"Image {field} must be JSON-able: {exc}", field=field) from exc


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-able")


def _masks(masks: dict[str, Any] | None) -> dict[str, Any] | None:
    if masks is None:
        return None
    if not isinstance(masks, dict):
        raise InvalidInputError("masks must be a dict of name -> {mask_data, class_labels}")
    out: dict[str, Any] = {}
    for name, mask in masks.items():
        if not isinstance(mask, dict) or "mask_data" not in mask:
            raise InvalidInputError(f"mask {name!r} needs mask_data", field="masks")
        out[str(name)] = _json_able(mask, "masks")
    return out

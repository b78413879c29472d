"""Pages of search results and their opaque tokens, shared by every store interface."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInputError

if TYPE_CHECKING:
    from mlcore.types import Run

__all__ = [
    "MAX_RESULTS_LIMIT",
    "ModelPage",
    "RunPage",
    "decode_page_token",
    "encode_page_token",
    "model_page",
]

#: The most results one search page may ask for.
MAX_RESULTS_LIMIT = 50_000


class RunPage(list["Run"]):
    """A page of runs; ``next_page_token`` is None on the last page."""

    next_page_token: str | None = None


class ModelPage(list[Any]):
    """A page of registered models or model versions; ``next_page_token`` None on the last."""

    next_page_token: str | None = None


def encode_page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_page_token(token: str | None) -> int:
    if token is None or token == "":
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except Exception:
        raise InvalidInputError(f"invalid page token {token!r}", field="page_token") from None
    if not isinstance(offset, int) or offset < 0:
        raise InvalidInputError(f"invalid page token {token!r}", field="page_token")
    return offset


def model_page(items: list[Any], offset: int, more: bool) -> ModelPage:
    """``items`` found at ``offset`` as a page, with a token when ``more`` follow."""
    page = ModelPage(items)
    page.next_page_token = encode_page_token(offset + len(items)) if more else None
    return page

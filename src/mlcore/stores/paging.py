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
    "page_token_after",
]

#: The most results one search page may ask for.
MAX_RESULTS_LIMIT = 50_000


class RunPage(list["Run"]):
    """A page of runs; ``next_page_token`` is None on the last page."""

    next_page_token: str | None = None


class ModelPage(list[Any]):
    """A page of registered models or model versions; ``next_page_token`` None on the last."""

    next_page_token: str | None = None


def encode_page_token(offset: int, after: list[Any] | None = None) -> str:
    """A token for the page starting at ``offset``; ``after``: the sort values of the last
    result returned, for stores that resume strictly after them (stable under inserts)."""
    body: dict[str, Any] = {"offset": offset}
    if after is not None:
        body["after"] = after
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode()


def page_token_after(token: str | None, size: int) -> list[Any] | None:
    """The ``after`` values of a token (None when it has none: a first page or an
    offset-only token); a token whose values do not fit ``size`` sort keys is refused."""
    if not token:
        return None
    decode_page_token(token)  # the same checks as every token
    after = json.loads(base64.urlsafe_b64decode(token.encode())).get("after")
    if after is None:
        return None
    if (
        not isinstance(after, list)
        or len(after) != size
        or not all(v is None or isinstance(v, (int, float, str)) for v in after)
        or any(isinstance(v, bool) for v in after)
    ):
        raise InvalidInputError(
            f"invalid page token {token!r} (not from this search)", field="page_token"
        )
    return after


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

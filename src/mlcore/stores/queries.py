"""A search as its caller wrote it: what the stores' search methods hand to the page hooks,
so that a remote store can forward the query unparsed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["SearchQuery"]


@dataclass(frozen=True)
class SearchQuery:
    filter: str | None
    order_by: Sequence[str] | str | None
    max_results: int
    page_token: str | None

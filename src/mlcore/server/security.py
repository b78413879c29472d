"""Moved to :mod:`mlcore.web` (the HTTP layer the tracking server and model serving share);
these names stay importable from here."""

from __future__ import annotations

from mlcore.web.guard import DEFAULT_PUBLIC_PATHS as PUBLIC_PATHS
from mlcore.web.guard import Access, Guard
from mlcore.web.tokens import SCOPES, TOKENS_ENV, load_tokens, parse_tokens

__all__ = ["PUBLIC_PATHS", "SCOPES", "TOKENS_ENV", "Access", "Guard", "load_tokens", "parse_tokens"]

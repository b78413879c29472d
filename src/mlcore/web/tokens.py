"""Server tokens: ``token:scope`` items from ``MLCORE_SERVER_TOKENS`` or a tokens file.

Items are separated by commas or new lines; ``token scope`` works too, and a token without a
scope may write. Lines starting with ``#`` are comments. Scopes: ``read`` (calls that change
nothing) and ``write`` (everything).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from mlcore.errors import InvalidInputError

__all__ = [
    "MIN_TOKEN_LENGTH",
    "READ",
    "SCOPES",
    "TOKENS_ENV",
    "WRITE",
    "check_tokens",
    "load_tokens",
    "parse_tokens",
]

TOKENS_ENV = "MLCORE_SERVER_TOKENS"
READ = "read"
WRITE = "write"
SCOPES = (READ, WRITE)
MIN_TOKEN_LENGTH = 16


def parse_tokens(text: str) -> dict[str, str]:
    """``token:scope`` items separated by commas or new lines (``token scope`` also works)."""
    tokens: dict[str, str] = {}
    for raw in text.replace(",", "\n").splitlines():
        item = raw.strip()
        if not item or item.startswith("#"):
            continue
        token, _, scope = item.replace(" ", ":", 1).rpartition(":")
        if not token:
            token, scope = scope, WRITE
        if scope not in SCOPES:
            raise InvalidInputError(
                f"token scope must be read or write, got {scope!r}", field="tokens"
            )
        if len(token) < MIN_TOKEN_LENGTH:
            raise InvalidInputError(
                "a server token must have at least 16 characters", field="tokens"
            )
        tokens[token] = scope
    return tokens


def load_tokens(tokens_file: str | None = None) -> dict[str, str]:
    """The tokens of ``MLCORE_SERVER_TOKENS`` and of ``tokens_file`` (which wins on a clash)."""
    tokens = parse_tokens(os.environ.get(TOKENS_ENV, ""))
    if tokens_file:
        with open(tokens_file, encoding="utf-8") as f:
            tokens.update(parse_tokens(f.read()))
    return tokens


def check_tokens(tokens: Mapping[str, str]) -> dict[str, str]:
    """``tokens`` as a dict, each at least 16 characters with a known scope.

    Raises:
        InvalidInputError: a short token or an unknown scope.
    """
    for token, scope in tokens.items():
        if scope not in SCOPES:
            raise InvalidInputError(
                f"token scope must be read or write, got {scope!r}", field="tokens"
            )
        if not isinstance(token, str) or len(token) < MIN_TOKEN_LENGTH:
            raise InvalidInputError(
                "a server token must have at least 16 characters", field="tokens"
            )
    return dict(tokens)

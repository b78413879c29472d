"""The run search language: parsing filters and ``order_by`` clauses into a small AST.

Grammar (keywords are case-insensitive)::

    filter     := or_expr
    or_expr    := and_expr ("OR" and_expr)*
    and_expr   := not_expr ("AND" not_expr)*
    not_expr   := "NOT" not_expr | "(" or_expr ")" | predicate
    predicate  := ident op literal
                | ident ["NOT"] "IN" "(" literal ("," literal)* ")"
                | ident ["NOT"] ("LIKE" | "ILIKE") string
                | ident "IS" ["NOT"] "NULL"
    op         := "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">="
    ident      := entity "." key          entity: params|metrics|tags|attributes (+ aliases)
    key        := bare-word | `back ticked` | "double quoted"
    literal    := 'string' | "string" | number

Stores compile the AST to their own query language with bound parameters (see
``mlcore.stores.sql.filter_sql``); nothing here builds SQL text. Errors are
:class:`~mlcore.errors.InvalidInputError` with a caret under the offending column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from mlcore.errors import InvalidInputError

__all__ = [
    "ATTRIBUTES",
    "And",
    "Comparison",
    "Identifier",
    "Not",
    "Or",
    "OrderBy",
    "parse_filter",
    "parse_order_by",
]

Entity = Literal["params", "metrics", "tags", "attributes"]

_ENTITY_ALIASES: dict[str, Entity] = {
    "params": "params",
    "param": "params",
    "parameters": "params",
    "config": "params",
    "metrics": "metrics",
    "metric": "metrics",
    "tags": "tags",
    "tag": "tags",
    "attributes": "attributes",
    "attribute": "attributes",
    "attr": "attributes",
    "run": "attributes",
}

#: Searchable run attributes and their kind ("str" or "int" milliseconds).
ATTRIBUTES: dict[str, str] = {
    "run_id": "str",
    "run_name": "str",
    "status": "str",
    "start_time": "int",
    "end_time": "int",
    "experiment_id": "str",
    "user": "str",
    "parent_run_id": "str",
    "artifact_uri": "str",
}
_ATTRIBUTE_ALIASES = {"id": "run_id", "name": "run_name", "created": "start_time"}
_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED", "CRASHED")

Value = str | float


@dataclass(frozen=True)
class Identifier:
    entity: Entity
    key: str
    position: int = 0

    def __str__(self) -> str:
        return f"{self.entity}.{self.key}"


@dataclass(frozen=True)
class Comparison:
    """``ident op value``; ``op`` is one of ``= != < <= > >= IN NOT IN LIKE NOT LIKE ILIKE
    NOT ILIKE IS NULL IS NOT NULL``; ``value`` is a literal, a tuple for IN, None for IS."""

    ident: Identifier
    op: str
    value: Value | tuple[Value, ...] | None


@dataclass(frozen=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    item: Expr


Expr = Comparison | And | Or | Not


@dataclass(frozen=True)
class OrderBy:
    ident: Identifier
    ascending: bool


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*\.(?:`[^`]*`|"(?:[^"\\]|\\.)*"|[^\s=!<>(),'"`]+))
  | (?P<string>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.)*")
  | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![A-Za-z0-9_.]))
  | (?P<op>==|!=|<>|<=|>=|=|<|>)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    """,
    re.VERBOSE,
)
_KEYWORDS = {"AND", "OR", "NOT", "IN", "LIKE", "ILIKE", "IS", "NULL", "ASC", "DESC"}


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    pos: int


def _error(source: str, pos: int, message: str) -> InvalidInputError:
    caret = " " * pos + "^"
    return InvalidInputError(
        f"invalid filter at column {pos + 1}: {message}\n    {source}\n    {caret}", field="filter"
    )


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if match is None:
            raise _error(source, pos, f"unexpected character {source[pos]!r}")
        kind = match.lastgroup or ""
        text = match.group()
        if kind == "word":
            upper = text.upper()
            if upper not in _KEYWORDS:
                if "." not in text and text.lower() in _ENTITY_ALIASES:
                    raise _error(source, pos, f"expected a key after {text!r}, e.g. {text}.name")
                raise _error(
                    source,
                    pos,
                    f"unknown word {text!r}; a column is written params.x, metrics.x, tags.x or "
                    "attributes.x, and strings are quoted",
                )
            tokens.append(_Token("kw", upper, pos))
        elif kind != "ws":
            tokens.append(_Token(kind, text, pos))
        pos = match.end()
    tokens.append(_Token("end", "", len(source)))
    return tokens


def _unquote(text: str) -> str:
    quote = text[0]
    body = text[1:-1]
    if quote == "`":
        return body
    if quote == "'":
        body = body.replace("''", "'")
    return re.sub(r"\\(.)", r"\1", body)


def _identifier(source: str, token: _Token) -> Identifier:
    prefix, _, key = token.text.partition(".")
    entity = _ENTITY_ALIASES.get(prefix.lower())
    if entity is None:
        raise _error(
            source,
            token.pos,
            f"unknown column kind {prefix!r}; use params., metrics., tags. or attributes.",
        )
    if key[:1] in ("`", '"'):
        key = _unquote(key)
    if not key:
        raise _error(source, token.pos, "empty key")
    if entity == "attributes":
        name = _ATTRIBUTE_ALIASES.get(key.lower(), key.lower())
        if name not in ATTRIBUTES:
            raise _error(
                source,
                token.pos,
                f"unknown attribute {key!r}; searchable attributes are {', '.join(ATTRIBUTES)}",
            )
        key = name
    return Identifier(entity, key, token.pos)


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _tokenize(source)
        self.index = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def is_kw(self, *words: str) -> bool:
        return self.current.kind == "kw" and self.current.text in words

    def expect(self, kind: str, what: str) -> _Token:
        if self.current.kind != kind:
            found = self.current.text or "end of filter"
            raise _error(self.source, self.current.pos, f"expected {what}, found {found!r}")
        return self.advance()

    def parse(self) -> Expr:
        expr = self.or_expr()
        if self.current.kind != "end":
            raise _error(
                self.source,
                self.current.pos,
                f"unexpected {self.current.text!r}; combine conditions with AND / OR",
            )
        return expr

    def or_expr(self) -> Expr:
        items = [self.and_expr()]
        while self.is_kw("OR"):
            self.advance()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Expr:
        items = [self.not_expr()]
        while self.is_kw("AND"):
            self.advance()
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_expr(self) -> Expr:
        if self.is_kw("NOT"):
            self.advance()
            return Not(self.not_expr())
        if self.current.kind == "lparen":
            self.advance()
            expr = self.or_expr()
            self.expect("rparen", "')'")
            return expr
        return self.predicate()

    def literal(self, ident: Identifier) -> Value:
        token = self.current
        if token.kind == "string":
            self.advance()
            return _unquote(token.text)
        if token.kind == "number":
            self.advance()
            return float(token.text)
        found = token.text or "end of filter"
        raise _error(self.source, token.pos, f"expected a value for {ident}, found {found!r}")

    def predicate(self) -> Comparison:
        token = self.current
        if token.kind != "ident":
            found = token.text or "end of filter"
            raise _error(
                self.source,
                token.pos,
                f"expected a column such as metrics.acc or params.lr, found {found!r}",
            )
        self.advance()
        ident = _identifier(self.source, token)
        op_token = self.current
        value_pos = self.tokens[min(self.index + 1, len(self.tokens) - 1)].pos
        if op_token.kind == "op":
            self.advance()
            op = {"==": "=", "<>": "!="}.get(op_token.text, op_token.text)
            value: Value | tuple[Value, ...] | None = self.literal(ident)
        elif self.is_kw("IS"):
            self.advance()
            negate = self.is_kw("NOT")
            if negate:
                self.advance()
            if not self.is_kw("NULL"):
                raise _error(self.source, self.current.pos, "expected NULL after IS")
            self.advance()
            op, value = ("IS NOT NULL" if negate else "IS NULL"), None
        else:
            negate = self.is_kw("NOT")
            if negate:
                self.advance()
            if self.is_kw("IN"):
                self.advance()
                value_pos = self.current.pos
                self.expect("lparen", "'(' after IN")
                values = [self.literal(ident)]
                while self.current.kind == "comma":
                    self.advance()
                    values.append(self.literal(ident))
                self.expect("rparen", "')' closing the IN list")
                op, value = ("NOT IN" if negate else "IN"), tuple(values)
            elif self.is_kw("LIKE", "ILIKE"):
                word = self.advance().text
                op = f"NOT {word}" if negate else word
                value_pos = self.current.pos
                value = self.literal(ident)
            else:
                found = self.current.text or "end of filter"
                raise _error(
                    self.source,
                    self.current.pos,
                    f"expected a comparison after {ident} (=, !=, <, >, IN, LIKE, IS NULL), "
                    f"found {found!r}",
                )
        return _typed(self.source, Comparison(ident, op, value), value_pos)


def _typed(source: str, cmp: Comparison, pos: int) -> Comparison:
    """Check the literal's type against the column and normalise it."""
    ident, op = cmp.ident, cmp.op
    values = cmp.value if isinstance(cmp.value, tuple) else (cmp.value,)
    if op.endswith("LIKE"):
        if ident.entity == "metrics" or (
            ATTRIBUTES.get(ident.key) == "int" and (ident.entity == "attributes")
        ):
            raise _error(source, pos, f"{op} works on text; {ident} is a number")
        if not isinstance(cmp.value, str):
            raise _error(source, pos, f"{op} needs a quoted pattern")
        return cmp
    if cmp.value is None:
        return cmp
    numeric_column = ident.entity == "metrics" or (
        ident.entity == "attributes" and ATTRIBUTES[ident.key] == "int"
    )
    if numeric_column:
        if any(not isinstance(v, float) for v in values):
            raise _error(source, pos, f"{ident} is a number; compare it with a number")
        return cmp
    if ident.entity == "tags" or (ident.entity == "attributes"):
        # text columns: numbers compare as their text (tags.version = 2 means '2')
        texts = tuple(_number_text(v) if isinstance(v, float) else v for v in values)
        if ident.entity == "attributes" and ident.key == "status":
            upper = tuple(str(t).upper() for t in texts)
            bad = [t for t in upper if t not in _STATUSES]
            if bad:
                raise _error(
                    source, pos, f"unknown status {bad[0]!r}; statuses are {', '.join(_STATUSES)}"
                )
            texts = upper
        normal: Value | tuple[Value, ...] = (
            tuple(str(t) for t in texts) if isinstance(cmp.value, tuple) else str(texts[0])
        )
        return Comparison(ident, op, normal)
    return cmp  # params: strings compare as text, numbers numerically


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def parse_filter(source: str | None) -> Expr | None:
    """Parse a filter string; ``None`` or blank means no filter.

    Raises:
        InvalidInputError: with the column of the first problem and a caret under it.
    """
    if source is None or not source.strip():
        return None
    if not isinstance(source, str):
        raise InvalidInputError("filter must be a string", field="filter")
    return _Parser(source).parse()


def parse_order_by(clauses: list[str] | tuple[str, ...] | str | None) -> list[OrderBy]:
    """Parse ``["metrics.auc DESC", "attributes.start_time"]`` (default ascending)."""
    if clauses is None:
        return []
    if isinstance(clauses, str):
        clauses = [clauses]
    result = []
    for clause in clauses:
        if not isinstance(clause, str) or not clause.strip():
            raise InvalidInputError("order_by entries must be non-empty strings", field="order_by")
        tokens = _tokenize(clause)
        if tokens[0].kind != "ident":
            raise _error(clause, tokens[0].pos, "expected a column such as metrics.auc")
        ident = _identifier(clause, tokens[0])
        ascending = True
        rest = tokens[1:]
        if rest[0].kind == "kw" and rest[0].text in ("ASC", "DESC"):
            ascending = rest[0].text == "ASC"
            rest = rest[1:]
        if rest[0].kind != "end":
            raise _error(clause, rest[0].pos, "expected ASC or DESC at the end of order_by")
        result.append(OrderBy(ident, ascending))
    return result

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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from mlcore.errors import InvalidInputError

__all__ = [
    "ATTRIBUTES",
    "MODELS",
    "MODEL_VERSIONS",
    "RUNS",
    "And",
    "Comparison",
    "FilterContext",
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
_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED", "CRASHED")
_STAGES = ("None", "Staging", "Production", "Archived")


@dataclass(frozen=True)
class FilterContext:
    """What a filter may name: which entities, which attributes (and their kind), which
    attributes only take listed values (compared case-insensitively, stored canonically)."""

    what: str
    entities: frozenset[str]
    attributes: Mapping[str, str]
    aliases: Mapping[str, str]
    enums: Mapping[str, tuple[str, ...]]


RUNS = FilterContext(
    "runs",
    frozenset({"params", "metrics", "tags", "attributes"}),
    ATTRIBUTES,
    {"id": "run_id", "name": "run_name", "created": "start_time"},
    {"status": _STATUSES},
)
MODELS = FilterContext(
    "registered models",
    frozenset({"tags", "attributes"}),
    {"name": "str", "description": "str", "creation_time": "int", "last_update_time": "int"},
    {"created": "creation_time"},
    {},
)
MODEL_VERSIONS = FilterContext(
    "model versions",
    frozenset({"tags", "attributes"}),
    {
        "name": "str",
        "version": "int",
        "run_id": "str",
        "source": "str",
        "stage": "str",
        "status": "str",
        "description": "str",
        "creation_time": "int",
        "last_update_time": "int",
    },
    {"current_stage": "stage", "created": "creation_time"},
    {
        "stage": _STAGES,
        "status": ("READY", "PENDING_REGISTRATION", "FAILED_REGISTRATION"),
    },
)

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


def _tokenize(source: str, context: FilterContext) -> list[_Token]:
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
            bare = text.lower()
            if upper not in _KEYWORDS and (bare in context.attributes or bare in context.aliases):
                tokens.append(_Token("ident", f"attributes.{text}", pos))
                pos = match.end()
                continue
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


def _identifier(source: str, token: _Token, context: FilterContext) -> Identifier:
    prefix, _, key = token.text.partition(".")
    entity = _ENTITY_ALIASES.get(prefix.lower())
    if entity is None:
        kinds = ", ".join(f"{e}." for e in sorted(context.entities))
        raise _error(source, token.pos, f"unknown column kind {prefix!r}; use {kinds}")
    if entity not in context.entities:
        raise _error(source, token.pos, f"{context.what} have no {entity}")
    if key[:1] in ("`", '"'):
        key = _unquote(key)
    if not key:
        raise _error(source, token.pos, "empty key")
    if entity == "attributes":
        name = context.aliases.get(key.lower(), key.lower())
        if name not in context.attributes:
            raise _error(
                source,
                token.pos,
                f"unknown attribute {key!r}; searchable attributes of {context.what} are "
                f"{', '.join(context.attributes)}",
            )
        key = name
    return Identifier(entity, key, token.pos)


#: how deeply parentheses and NOT may nest in a filter
MAX_FILTER_DEPTH = 50


class _Parser:
    def __init__(self, source: str, context: FilterContext) -> None:
        self.source = source
        self.context = context
        self.tokens = _tokenize(source, context)
        self.index = 0
        self.depth = 0

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
        if self.is_kw("NOT") or self.current.kind == "lparen":
            if self.depth >= MAX_FILTER_DEPTH:
                raise _error(
                    self.source,
                    self.current.pos,
                    f"parentheses and NOT nest deeper than {MAX_FILTER_DEPTH} levels",
                )
            self.depth += 1
            try:
                return self._nested()
            finally:
                self.depth -= 1
        return self.predicate()

    def _nested(self) -> Expr:
        if self.is_kw("NOT"):
            self.advance()
            return Not(self.not_expr())
        self.advance()
        expr = self.or_expr()
        self.expect("rparen", "')'")
        return expr

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
        ident = _identifier(self.source, token, self.context)
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
        return _typed(self.source, Comparison(ident, op, value), value_pos, self.context)


def _typed(source: str, cmp: Comparison, pos: int, context: FilterContext) -> Comparison:
    """Check the literal's type against the column and normalise it."""
    ident, op = cmp.ident, cmp.op
    values = cmp.value if isinstance(cmp.value, tuple) else (cmp.value,)
    numeric_column = ident.entity == "metrics" or (
        ident.entity == "attributes" and context.attributes[ident.key] == "int"
    )
    if op.endswith("LIKE"):
        if numeric_column:
            raise _error(source, pos, f"{op} works on text; {ident} is a number")
        if not isinstance(cmp.value, str):
            raise _error(source, pos, f"{op} needs a quoted pattern")
        return cmp
    if cmp.value is None:
        return cmp
    if numeric_column:
        if any(not isinstance(v, float) for v in values):
            raise _error(source, pos, f"{ident} is a number; compare it with a number")
        return cmp
    if ident.entity == "tags" or (ident.entity == "attributes"):
        # text columns: numbers compare as their text (tags.version = 2 means '2')
        texts = tuple(_number_text(v) if isinstance(v, float) else v for v in values)
        allowed = context.enums.get(ident.key) if ident.entity == "attributes" else None
        if allowed:
            canonical = {a.lower(): a for a in allowed}
            bad = [t for t in texts if str(t).lower() not in canonical]
            if bad:
                raise _error(
                    source,
                    pos,
                    f"unknown {ident.key} {bad[0]!r}; {ident.key} is one of {', '.join(allowed)}",
                )
            texts = tuple(canonical[str(t).lower()] for t in texts)
        normal: Value | tuple[Value, ...] = (
            tuple(str(t) for t in texts) if isinstance(cmp.value, tuple) else str(texts[0])
        )
        return Comparison(ident, op, normal)
    return cmp  # params: strings compare as text, numbers numerically


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def parse_filter(source: str | None, context: FilterContext = RUNS) -> Expr | None:
    """Parse a filter string; ``None`` or blank means no filter.

    Raises:
        InvalidInputError: with the column of the first problem and a caret under it.
    """
    if source is None:
        return None
    if not isinstance(source, str):
        raise InvalidInputError("filter must be a string", field="filter")
    if not source.strip():
        return None
    return _Parser(source, context).parse()


def parse_order_by(
    clauses: list[str] | tuple[str, ...] | str | None, context: FilterContext = RUNS
) -> list[OrderBy]:
    """Parse ``["metrics.auc DESC", "attributes.start_time"]`` (default ascending)."""
    if clauses is None:
        return []
    if isinstance(clauses, str):
        clauses = [clauses]
    result = []
    for clause in clauses:
        if not isinstance(clause, str) or not clause.strip():
            raise InvalidInputError("order_by entries must be non-empty strings", field="order_by")
        tokens = _tokenize(clause, context)
        if tokens[0].kind != "ident":
            raise _error(clause, tokens[0].pos, "expected a column such as metrics.auc")
        ident = _identifier(clause, tokens[0], context)
        ascending = True
        rest = tokens[1:]
        if rest[0].kind == "kw" and rest[0].text in ("ASC", "DESC"):
            ascending = rest[0].text == "ASC"
            rest = rest[1:]
        if rest[0].kind != "end":
            raise _error(clause, rest[0].pos, "expected ASC or DESC at the end of order_by")
        result.append(OrderBy(ident, ascending))
    return result

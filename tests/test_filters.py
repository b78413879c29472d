"""The search language parser, and that compiled SQL never contains user text."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from mlcore.errors import InvalidInputError
from mlcore.filters import And, Comparison, Identifier, Not, Or, parse_filter, parse_order_by
from mlcore.stores.sql.filter_sql import compile_filter, run_target
from mlcore.stores.sql.schema import runs


def ident(entity: str, key: str) -> tuple[str, str]:
    return (entity, key)


def shape(expr: object) -> object:
    """The AST without token positions, for readable assertions."""
    if isinstance(expr, Comparison):
        return (expr.ident.entity, expr.ident.key, expr.op, expr.value)
    if isinstance(expr, And):
        return ("AND", *[shape(i) for i in expr.items])
    if isinstance(expr, Or):
        return ("OR", *[shape(i) for i in expr.items])
    if isinstance(expr, Not):
        return ("NOT", shape(expr.item))
    raise AssertionError(expr)


def test_precedence_and_over_or() -> None:
    tree = parse_filter("metrics.a > 1 or metrics.b > 2 and params.c = 'x'")
    assert shape(tree) == (
        "OR",
        ("metrics", "a", ">", 1.0),
        ("AND", ("metrics", "b", ">", 2.0), ("params", "c", "=", "x")),
    )


def test_parentheses_not_and_aliases() -> None:
    tree = parse_filter("NOT (metric.a >= 1 OR param.b IN ('x', \"y\")) and tag.t IS NOT NULL")
    assert shape(tree) == (
        "AND",
        ("NOT", ("OR", ("metrics", "a", ">=", 1.0), ("params", "b", "IN", ("x", "y")))),
        ("tags", "t", "IS NOT NULL", None),
    )


def test_keys_with_dots_slashes_and_quotes() -> None:
    assert shape(parse_filter("metrics.train/loss < 0.5")) == ("metrics", "train/loss", "<", 0.5)
    assert shape(parse_filter("tags.mlcore.source.name = 'x'")) == (
        "tags",
        "mlcore.source.name",
        "=",
        "x",
    )
    assert shape(parse_filter("params.`my param` = 'a b'")) == ("params", "my param", "=", "a b")
    assert shape(parse_filter("params.\"p\" != 'it''s'")) == ("params", "p", "!=", "it's")
    assert shape(parse_filter("params.p == 'a' ")) == ("params", "p", "=", "a")
    assert shape(parse_filter("params.p <> 'a'")) == ("params", "p", "!=", "a")


def test_attributes_and_status_normalisation() -> None:
    assert shape(parse_filter("attributes.status = 'failed'")) == (
        "attributes",
        "status",
        "=",
        "FAILED",
    )
    assert shape(parse_filter("attr.name LIKE 'x%'")) == ("attributes", "run_name", "LIKE", "x%")
    assert shape(parse_filter("run.id = 'abc'")) == ("attributes", "run_id", "=", "abc")
    assert shape(parse_filter("attributes.experiment_id IN (1, 2)")) == (
        "attributes",
        "experiment_id",
        "IN",
        ("1", "2"),
    )
    assert shape(parse_filter("tags.version = 2")) == ("tags", "version", "=", "2")


def test_empty_filter_is_none() -> None:
    assert parse_filter(None) is None
    assert parse_filter("   ") is None


@pytest.mark.parametrize(
    "bad",
    [
        "metrics.a",
        "metrics.a = ",
        "metrics.a IN ()",
        "metrics.a IN (1",
        "params.x = 'unterminated",
        "params.x IS 'a'",
        "params.x NOT = 'a'",
        "and metrics.a > 1",
        "metrics.a > 1 )",
        "params",
        "weird.a = 1",
        "params.a = 'x' ; DROP TABLE runs",
    ],
)
def test_malformed(bad: str) -> None:
    with pytest.raises(InvalidInputError, match="invalid filter at column"):
        parse_filter(bad)


def test_order_by() -> None:
    orders = parse_order_by(["metrics.auc DESC", "attributes.start_time", "params.lr asc"])
    assert [(o.ident.entity, o.ident.key, o.ascending) for o in orders] == [
        ("metrics", "auc", False),
        ("attributes", "start_time", True),
        ("params", "lr", True),
    ]
    assert parse_order_by(None) == []
    with pytest.raises(InvalidInputError):
        parse_order_by(["metrics.auc DOWN"])
    with pytest.raises(InvalidInputError):
        parse_order_by([""])


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()])
def test_literals_are_bound_parameters(dialect: object) -> None:
    evil = "x'); DROP TABLE runs; --"
    expr = parse_filter(
        f"params.model = '{evil.replace(chr(39), chr(39) * 2)}' or tags.`k; DELETE` LIKE 'z%'"
        " or metrics.auc > 0.123456"
    )
    assert expr is not None
    compiled = (
        select(runs.c.run_id).where(compile_filter(expr, run_target(0))).compile(dialect=dialect)
    )  # type: ignore[arg-type]
    sql = str(compiled)
    assert "DROP" not in sql and "DELETE" not in sql and "0.123456" not in sql
    assert evil in compiled.params.values()
    assert "k; DELETE" in compiled.params.values()


def test_identifier_str() -> None:
    assert str(Identifier("metrics", "auc")) == "metrics.auc"


@pytest.mark.parametrize("opening", ["(", "NOT "])
def test_deep_nesting_is_refused_not_a_recursion_error(opening: str) -> None:
    deep = opening * 500 + "metrics.a > 1" + (")" * 500 if opening == "(" else "")
    with pytest.raises(InvalidInputError, match="nest deeper than 50 levels"):
        parse_filter(deep)
    ok = opening * 50 + "metrics.a > 1" + (")" * 50 if opening == "(" else "")
    assert parse_filter(ok) is not None

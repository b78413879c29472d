"""A bounded schemathesis run against the published OpenAPI spec: no 5xx, no status code or
body that breaks the spec (8 generated requests per endpoint, derandomized)."""

from __future__ import annotations

from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402

from mlcore.server import Server  # noqa: E402


@pytest.mark.slow
def test_api_answers_every_generated_request_within_its_spec(tmp_path: Path) -> None:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        response_schema_conformance,
        status_code_conformance,
    )

    app = Server.tracking(
        store=f"sqlite:///{tmp_path}/m.db",
        artifacts=str(tmp_path / "art"),
        allow_remote=True,
        allowed_hosts=["testserver"],  # the Host schemathesis' ASGI client sends
    ).app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    checks = [not_a_server_error, response_schema_conformance, status_code_conformance]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50
    statuses: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=8,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: object) -> None:
            response = case.call_and_validate(checks=checks)  # type: ignore[attr-defined]
            statuses.append(response.status_code)

        fuzz()
    # the run reached the store (some requests valid), and refused bad ones with 4xx
    assert 200 in statuses and 400 in statuses
    assert max(statuses) < 500

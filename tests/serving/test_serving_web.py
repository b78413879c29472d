"""A real ``mlcore serve`` on loopback refuses what a web page can send it without a CORS
preflight, keeps its CSV payloads, and names the methods of a path in a 405's ``Allow``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests

from mlcore.server import Server
from tests.raw_http import post_exactly
from tests.serving.conftest import FEATURES, predicted


@pytest.fixture(scope="module")
def url(store: dict[str, Any]) -> Iterator[str]:
    srv = Server.model("models:/forest/1", tracking_uri=store["uri"])
    yield srv.start()
    srv.stop()


def _rows(store: dict[str, Any]) -> tuple[Any, list[Any]]:
    frame = store["frame"].iloc[:5]
    return frame, predicted(store, "forest", frame)


def test_json_routes_refuse_what_a_page_sends_without_a_preflight(
    url: str, store: dict[str, Any]
) -> None:
    frame, _ = _rows(store)
    split = {"dataframe_split": {"columns": FEATURES, "data": frame.to_numpy().tolist()}}
    infer = {"inputs": [{"name": "x", "datatype": "FP64", "shape": list(frame.shape),
                         "data": frame.to_numpy().ravel().tolist()}]}  # fmt: skip
    for path, body in (("/invocations", split), ("/v2/models/forest/infer", infer)):
        for content_type in ("text/plain;charset=UTF-8", "application/x-www-form-urlencoded", None):
            headers = {"Content-Type": content_type} if content_type else {}
            status, answer = post_exactly(url, path, json.dumps(body).encode(), headers)
            assert status == 415, (path, content_type, answer)
            assert answer["error_code"] == "UNSUPPORTED_MEDIA_TYPE"
            assert "application/json" in answer["message"]
            assert "predictions" not in answer and "outputs" not in answer
        headers = {"Content-Type": "application/json", "Origin": "http://evil.example"}
        status, answer = post_exactly(url, path, json.dumps(body).encode(), headers)
        assert status == 403 and "Origin" in answer["message"], answer


def test_json_and_csv_payloads_keep_working(url: str, store: dict[str, Any]) -> None:
    frame, expected = _rows(store)
    split = {"dataframe_split": {"columns": FEATURES, "data": frame.to_numpy().tolist()}}
    assert requests.post(url + "/invocations", json=split).json()["predictions"] == expected
    for csv_type in ("text/csv", "application/csv; charset=utf-8"):
        answer = httpx.post(
            url + "/invocations",
            content=frame.to_csv(index=False),
            headers={"Content-Type": csv_type},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == expected


def test_a_405_names_the_methods_its_path_accepts(url: str) -> None:
    for method, path, allowed in (
        ("GET", "/invocations", {"POST"}),
        ("DELETE", "/v2/models/forest/infer", {"POST"}),
        ("PUT", "/ping", {"GET", "HEAD"}),
    ):
        response = httpx.request(method, url + path)
        assert response.status_code == 405, (method, path, response.text)
        assert response.json()["error_code"] == "METHOD_NOT_ALLOWED"
        assert set(response.headers["allow"].split(", ")) == allowed, (method, path)

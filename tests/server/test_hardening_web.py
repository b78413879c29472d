"""A real ``mlcore server`` on loopback refuses what a web page can send it (cross-site
request forgery): JSON routes take only JSON bodies, and pages of other sites are refused by
their ``Origin``; our own clients and MLflow-style ``requests`` calls keep working."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from mlcore import Tracker
from mlcore.server import Server
from tests.raw_http import post_exactly


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("web")
    srv = Server.tracking(
        store=f"sqlite:///{home}/m.db", artifacts=str(home / "art"), allowed_hosts=["ml.lan"]
    )
    yield srv.start()
    srv.stop()


def _experiments(url: str) -> list[str]:
    with Tracker(url) as tracker:
        return [e.name for e in tracker.store.search_experiments()]


CREATE = "/api/v1/create-experiment"


def _experiment(name: str) -> dict[str, object]:
    return {"name": name, "artifact_location": None, "tags": {}, "description": None}


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain;charset=UTF-8",  # fetch(url, {method: "POST", body: JSON.stringify(...)})
        "application/x-www-form-urlencoded",  # an HTML form
        "multipart/form-data; boundary=x",
        None,  # fetch with a Blob or ArrayBuffer body: no Content-Type at all
    ],
)
def test_a_json_route_refuses_what_a_page_sends_without_a_preflight(
    url: str, content_type: str | None
) -> None:
    name = f"csrf-{content_type}"
    body = json.dumps(_experiment(name)).encode()
    headers = {"Content-Type": content_type} if content_type else {}
    status, answer = post_exactly(url, CREATE, body, headers)
    assert status == 415, answer
    assert answer["error_code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert "application/json" in str(answer["message"])
    assert name not in _experiments(url)  # nothing was created


def test_a_page_of_another_site_is_refused_by_its_origin(url: str) -> None:
    body = json.dumps(_experiment("from-evil")).encode()
    for origin in ("http://evil.example", "https://203.0.113.7", "null", "http://127.0.0.1.evil"):
        headers = {"Content-Type": "application/json", "Origin": origin}
        status, answer = post_exactly(url, CREATE, body, headers)
        assert status == 403, (origin, answer)
        assert "Origin" in str(answer["message"])
    assert "from-evil" not in _experiments(url)
    port = urlsplit(url).port
    for origin in (f"http://127.0.0.1:{port}", "http://localhost:3000", "http://ml.lan"):
        name = f"from-{origin.split('//')[1].replace(':', '-')}"
        body = json.dumps(_experiment(name)).encode()
        status, answer = post_exactly(url, CREATE, body, {"Content-Type": "application/json",
                                                   "Origin": origin})  # fmt: skip
        assert status == 200, (origin, answer)
        assert name in _experiments(url)


def test_json_clients_keep_working(url: str) -> None:
    # MLflow-style clients: requests with json= (application/json)
    made = requests.post(url + CREATE, json=_experiment("via-requests"))
    assert made.status_code == 200, made.text
    # a +json type is JSON too
    status, _ = post_exactly(
        url,
        CREATE,
        json.dumps(_experiment("via-plus-json")).encode(),
        {"Content-Type": "application/vnd.api+json"},
    )
    assert status == 200
    # mlcore's own clients: the HTTP store, and artifact uploads (raw bytes) through the proxy
    with Tracker(url) as tracker:
        run = tracker.start_run("web")
        tracker.log_text(run.info.run_id, "hello", "notes/a.txt")
        tracker.log_metric(run.info.run_id, "m", 1.0, step=1)
        tracker.flush()
        assert tracker.artifact_store(run.info.run_id).get_bytes("notes/a.txt") == b"hello"
    assert {"via-requests", "via-plus-json", "web"} <= set(_experiments(url))

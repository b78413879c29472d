"""Issue 15 item 4: DNS rebinding (the ``Host`` a server answers to) and forwarding headers
(who a client is), against a real tracking server on loopback and the guard directly."""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.testclient import TestClient

from mlcore.errors import InvalidInputError
from mlcore.server import Server
from mlcore.web.forwarded import TrustedProxies
from mlcore.web.hosts import HostPolicy

EVIL = "evil.example"


def raw(url: str, method: str, path: str, body: object = None, **headers: str) -> tuple[int, str]:
    """A request with exactly these headers (``Host`` included), as a rebinding page sends."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    data = None if body is None else json.dumps(body).encode()
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for key, value in headers.items():
        conn.putheader(key.replace("_", "-"), value)
    if data is not None:
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(len(data)))
    conn.endheaders(data)
    response = conn.getresponse()
    text = response.read().decode()
    conn.close()
    return response.status, text


@pytest.fixture(scope="module")
def open_server(tmp_path_factory: pytest.TempPathFactory) -> object:
    """A loopback server without tokens: the one a rebinding page would target."""
    home = tmp_path_factory.mktemp("rebind")
    srv = Server.tracking(
        store=f"sqlite:///{home}/m.db",
        artifacts=str(home / "art"),
        allowed_hosts=["mlcore.internal", "*.corp.example"],
    )
    url = srv.start()
    yield url
    srv.stop()


def test_a_rebound_host_is_refused_and_nothing_is_done(open_server: str) -> None:
    port = urlsplit(open_server).port
    body = {"name": "rebound", "artifact_location": None, "tags": {}, "description": None}
    for host in (EVIL, f"{EVIL}:{port}", "localhost.evil.example", "127.0.0.1.nip.io"):
        status, text = raw(open_server, "POST", "/api/v1/create-experiment", body, Host=host)
        assert status == 403, (host, text)
        answer = json.loads(text)
        assert answer["error_code"] == "FORBIDDEN" and "--allowed-hosts" in answer["message"]
        status, text = raw(open_server, "GET", "/api/v1/artifact-files/?list=1", Host=host)
        assert status == 403
    status, text = raw(
        open_server, "POST", "/api/v1/search-experiments", {"view": "all"}, Host=f"localhost:{port}"
    )
    assert status == 200 and "rebound" not in text  # nothing was created
    # probes stay public (a load balancer calls them by whatever name it knows)
    assert raw(open_server, "GET", "/health", Host=EVIL)[0] == 200


@pytest.mark.parametrize(
    "host",
    [
        "localhost:{port}",
        "127.0.0.1:{port}",
        "[::1]:{port}",
        "127.0.0.2:{port}",
        "localhost",
        "LOCALHOST.:{port}",
        "mlcore.internal:{port}",
        "build.corp.example",
    ],
)
def test_loopback_and_configured_hosts_are_served(open_server: str, host: str) -> None:
    port = urlsplit(open_server).port
    name = host.format(port=port)
    status, text = raw(
        open_server, "POST", "/api/v1/search-experiments", {"view": "all"}, Host=name
    )
    assert status == 200, (name, text)


def test_returned_uris_carry_only_an_admitted_host(open_server: str) -> None:
    port = urlsplit(open_server).port
    body = {"name": "uris", "artifact_location": None, "tags": {}, "description": None}
    status, text = raw(open_server, "POST", "/api/v1/create-experiment", body, Host=EVIL)
    assert status == 403 and "artifact-files" not in text
    status, text = raw(
        open_server, "POST", "/api/v1/create-experiment", body, Host=f"localhost:{port}"
    )
    assert status == 200, text
    exp_id = json.loads(text)["experiment_id"]
    for host in (EVIL, f"{EVIL}:{port}"):
        status, text = raw(
            open_server, "POST", "/api/v1/get-experiment", {"experiment_id": exp_id}, Host=host
        )
        assert status == 403 and EVIL not in text
    status, text = raw(
        open_server, "POST", "/api/v1/get-experiment", {"experiment_id": exp_id},
        Host=f"mlcore.internal:{port}",
    )  # fmt: skip
    assert json.loads(text)["artifact_location"].startswith(f"http://mlcore.internal:{port}/")


def test_allowed_hosts_star_admits_any_name(tmp_path: Path) -> None:
    srv = Server.tracking(
        store=f"sqlite:///{tmp_path}/m.db", artifacts=str(tmp_path / "a"), allowed_hosts=["*"]
    )
    url = srv.start()
    try:
        status, _ = raw(url, "POST", "/api/v1/search-experiments", {"view": "all"}, Host=EVIL)
        assert status == 200
    finally:
        srv.stop()


def test_bad_network_options_are_refused_up_front(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="allowed_hosts"):
        Server.tracking(store=f"sqlite:///{tmp_path}/m.db", allowed_hosts=["bad host/"])
    with pytest.raises(InvalidInputError, match="trusted_proxies"):
        Server.tracking(store=f"sqlite:///{tmp_path}/m.db", trusted_proxies=["not-an-ip"])


def test_host_policy_rules() -> None:
    policy = HostPolicy(["api.example:8443"])
    assert policy.admits("api.example:8443") and not policy.admits("api.example:80")
    assert not policy.admits("api.example") and not policy.admits("x.api.example:8443")
    assert policy.admits("10.1.2.3:5000") and policy.admits("[fe80::1]")
    for bad in ("", "a b", "evil.example@127.0.0.1", "127.0.0.1:x", "[::1", "::1"):
        assert not policy.admits(bad), bad
    assert policy.admits(None)  # HTTP/1.0 without a Host: answered with the bind address
    bound = HostPolicy()
    bound.allow_bind("models.internal")
    bound.allow_bind("10.0.0.5")
    assert bound.admits("models.internal:5001") and bound.patterns == ["models.internal"]


# -- who the client is ----------------------------------------------------------------------------
def _app(tmp_path: Path, **options: object) -> object:
    return Server.tracking(
        store=f"sqlite:///{tmp_path}/m.db", artifacts=str(tmp_path / "a"), **options
    ).app


SEARCH = ("/api/v1/search-experiments", {"view": "active"})
SPOOFS = [
    {"X-Forwarded-For": "127.0.0.1"},
    {"X-Real-IP": "127.0.0.1"},
    {"Forwarded": "for=127.0.0.1"},
    {"Forwarded": 'for="[::1]"', "X-Forwarded-For": "::1", "X-Real-IP": "127.0.0.1"},
]


@pytest.mark.parametrize("headers", SPOOFS)
def test_forwarding_headers_from_an_untrusted_peer_are_ignored(
    tmp_path: Path, headers: dict[str, str]
) -> None:
    app = _app(tmp_path)  # trusted proxies: loopback ones only
    with TestClient(app, base_url="http://localhost", client=("203.0.113.9", 4000)) as remote:
        refused = remote.post(SEARCH[0], json=SEARCH[1], headers=headers)
        assert refused.status_code == 403 and "loopback" in refused.json()["message"]


@pytest.mark.parametrize("headers", SPOOFS[:3])
def test_forwarding_headers_from_a_trusted_proxy_name_the_client(
    tmp_path: Path, headers: dict[str, str]
) -> None:
    app = _app(tmp_path, trusted_proxies=["10.0.0.0/8"])
    with TestClient(app, base_url="http://localhost", client=("10.1.2.3", 4000)) as proxy:
        assert proxy.post(SEARCH[0], json=SEARCH[1], headers=headers).status_code == 200
        # without a header the proxy itself is the client, and it is not a loopback one
        assert proxy.post(SEARCH[0], json=SEARCH[1]).status_code == 403
        remote = {"X-Forwarded-For": "198.51.100.7", "X-Real-IP": "198.51.100.7"}
        assert proxy.post(SEARCH[0], json=SEARCH[1], headers=remote).status_code == 403


def test_a_local_proxy_forwarding_a_remote_client_is_not_loopback(tmp_path: Path) -> None:
    """With the default (loopback proxies trusted), a local reverse proxy's remote clients are
    seen as remote, even when they send a loopback X-Real-IP themselves."""
    app = _app(tmp_path)
    with TestClient(app, base_url="http://localhost", client=("127.0.0.1", 4000)) as local:
        assert local.post(SEARCH[0], json=SEARCH[1]).status_code == 200
        forwarded = {"X-Forwarded-For": "127.0.0.1, 198.51.100.7", "X-Real-IP": "127.0.0.1"}
        assert local.post(SEARCH[0], json=SEARCH[1], headers=forwarded).status_code == 403
    no_proxies = _app(tmp_path, trusted_proxies=[])
    with TestClient(no_proxies, base_url="http://localhost", client=("127.0.0.1", 4000)) as local:
        forwarded = {"X-Forwarded-For": "198.51.100.7"}
        assert local.post(SEARCH[0], json=SEARCH[1], headers=forwarded).status_code == 200


def test_a_trusted_proxy_sets_the_scheme_of_returned_uris(tmp_path: Path) -> None:
    app = _app(tmp_path)
    with TestClient(app, base_url="http://localhost", client=("127.0.0.1", 4000)) as local:
        body = {"name": "tls", "artifact_location": None, "tags": {}, "description": None}
        created = local.post("/api/v1/create-experiment", json=body)
        exp_id = created.json()["experiment_id"]
        shown = local.post(
            "/api/v1/get-experiment",
            json={"experiment_id": exp_id},
            headers={"X-Forwarded-Proto": "https"},
        )
        assert shown.json()["artifact_location"].startswith("https://localhost/")


def test_trusted_proxy_chains() -> None:
    proxies = TrustedProxies(["10.0.0.0/8", "::1"])
    scope = {
        "type": "http",
        "client": ("10.0.0.1", 1),
        "headers": [(b"x-forwarded-for", b"198.51.100.7, 10.9.9.9")],
    }
    assert proxies.resolve(scope)["client"][0] == "198.51.100.7"
    scope["headers"] = [(b"forwarded", b'for="[2001:db8::1]:4711";proto=https, for=10.2.2.2')]
    resolved = proxies.resolve(scope)
    assert resolved["client"][0] == "2001:db8::1" and resolved["scheme"] == "https"
    scope["headers"] = [(b"forwarded", b"for=unknown")]
    assert proxies.resolve(scope)["client"][0] == "unknown"
    untrusted = {**scope, "client": ("192.0.2.1", 1)}
    assert proxies.resolve(untrusted) is untrusted


def test_httpx_clients_reach_a_loopback_server_by_its_url(open_server: str) -> None:
    port = urlsplit(open_server).port
    for base in (open_server, f"http://localhost:{port}"):
        assert httpx.post(base + SEARCH[0], json=SEARCH[1]).status_code == 200

"""Artifact path validation and URI helpers."""

from __future__ import annotations

import pytest

from mlcore.errors import InvalidInputError
from mlcore.testing import TRAVERSAL_PATHS
from mlcore.uris import (
    file_uri_to_path,
    join_uri,
    parse_runs_uri,
    path_to_file_uri,
    redact_uri,
    uri_scheme,
    validate_artifact_path,
)


@pytest.mark.parametrize("path", TRAVERSAL_PATHS)
def test_attacks_are_refused(path: str) -> None:
    with pytest.raises(InvalidInputError):
        validate_artifact_path(path)


@pytest.mark.parametrize(
    ("path", "normal"),
    [
        ("", ""),
        ("a", "a"),
        ("a/b/c.txt", "a/b/c.txt"),
        ("a//b/", "a/b"),
        ("dir/with space/ünï.txt", "dir/with space/ünï.txt"),
        ("a..b/c...d", "a..b/c...d"),
        ("100%.txt", "100%.txt"),
        (".hidden/x", ".hidden/x"),
    ],
)
def test_legal_paths_are_normalised(path: str, normal: str) -> None:
    assert validate_artifact_path(path) == normal


def test_root_can_be_refused_and_types_are_checked() -> None:
    with pytest.raises(InvalidInputError, match="empty"):
        validate_artifact_path("", allow_root=False)
    with pytest.raises(InvalidInputError, match="string"):
        validate_artifact_path(b"a")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="longer"):
        validate_artifact_path("a/" * 600)
    with pytest.raises(InvalidInputError, match="three times"):
        validate_artifact_path("%2525252e%2525252e")


def test_schemes() -> None:
    assert uri_scheme("postgresql+psycopg://u@h/db") == "postgresql"
    assert uri_scheme("S3://bucket") == "s3"
    assert uri_scheme("./relative/dir") == ""
    assert uri_scheme("C:\\data") == ""
    assert uri_scheme("sqlite:///x.db") == "sqlite"


def test_file_uris_round_trip(tmp_path: object) -> None:
    uri = path_to_file_uri("/tmp/with space/x")
    assert uri == "file:///tmp/with%20space/x"
    assert file_uri_to_path(uri) == "/tmp/with space/x"
    with pytest.raises(InvalidInputError, match="remote host"):
        file_uri_to_path("file://evil.example/etc/passwd")


def test_join_and_redact() -> None:
    assert join_uri("s3://b/root/", "1", "/abc/") == "s3://b/root/1/abc"
    assert join_uri("file:///x", "") == "file:///x"
    assert redact_uri("postgresql://user:s3cret@db:5432/x") == "postgresql://user:***@db:5432/x"
    assert redact_uri("sqlite:///x.db") == "sqlite:///x.db"


def test_runs_uri() -> None:
    parsed = parse_runs_uri("runs:/" + "a" * 32 + "/model/data")
    assert (parsed.run_id, parsed.path) == ("a" * 32, "model/data")
    with pytest.raises(InvalidInputError):
        parse_runs_uri("runs:/nothex/model")
    with pytest.raises(InvalidInputError):
        parse_runs_uri("runs:/" + "a" * 32 + "/../../etc")
    with pytest.raises(InvalidInputError):
        parse_runs_uri("models:/x/1")


def test_artifact_location_options_are_kept_per_bucket_out_of_the_uri(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlcore import artifact_options
    from mlcore.artifact_options import LocationOptions

    process_wide = artifact_options.LOCATIONS
    monkeypatch.setattr(artifact_options, "LOCATIONS", LocationOptions())

    uri = "s3://bucket-under-test/runs?endpoint_url=http://minio:9000&region=eu-west-1"
    assert artifact_options.split_options(uri) == (
        "s3://bucket-under-test/runs",
        {"endpoint_url": "http://minio:9000", "region": "eu-west-1"},
    )
    with pytest.raises(InvalidInputError, match="given twice"):
        artifact_options.split_options("s3://b/x?a=1&a=2")
    assert artifact_options.location_key("s3://bucket-under-test/a/b") == "s3://bucket-under-test"
    assert artifact_options.remember(uri) == "s3://bucket-under-test/runs"
    # another path in the same bucket reaches it the same way; its own query wins
    assert artifact_options.options_for("s3://bucket-under-test/other?region=us") == {
        "endpoint_url": "http://minio:9000",
        "region": "us",
    }
    assert artifact_options.options_for("s3://another-bucket/x") == {}
    assert process_wide.get("s3://bucket-under-test/runs") == {}  # instances share nothing
    copy = artifact_options.LOCATIONS.get("s3://bucket-under-test/x")
    copy["region"] = "changed"
    assert artifact_options.LOCATIONS.get("s3://bucket-under-test/x")["region"] == "eu-west-1"


def test_path_length_is_counted_in_characters_of_the_decoded_path() -> None:
    # "é" is 1 character, 2 UTF-8 bytes and 6 characters percent-encoded ("%C3%A9")
    name = "/".join(["é" * 100] * 10) + "/" + "é" * 14  # 1024 characters
    assert validate_artifact_path(name) == name
    from urllib.parse import quote

    assert validate_artifact_path(quote(name, safe="/"), encoded=True) == quote(name, safe="/")
    over = name + "é"
    for path, encoded in ((over, False), (quote(over, safe="/"), True)):
        with pytest.raises(
            InvalidInputError, match="1025 characters long, longer than the 1024 characters"
        ):
            validate_artifact_path(path, encoded=encoded)


def test_segment_length_is_counted_in_utf8_bytes() -> None:
    assert validate_artifact_path("é" * 127 + "a") == "é" * 127 + "a"  # 255 bytes
    with pytest.raises(
        InvalidInputError, match="256 bytes long in UTF-8, longer than the 255 bytes"
    ):
        validate_artifact_path("é" * 128)

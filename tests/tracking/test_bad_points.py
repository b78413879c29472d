"""One bad metric point must never cost the good ones (issue 15, item 1).

A bad key, step, timestamp or value is refused at the call (``InvalidInputError``, nothing
buffered). A point the store refuses anyway (smuggled past the call here by adding it to the
writer directly) is split out of its batch and reported; every other point is stored, the run
ends FINISHED and nothing raises. Locally (SQLite) and through a real ``mlcore server``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from mlcore import Tracker
from mlcore.errors import InvalidInputError
from mlcore.stores.base import MetricPoint
from mlcore.stores.sql import SqlStore
from mlcore.types import RunStatus

BAD_KEY = os.fsdecode(b"loss_\xff")  # a lone surrogate: not encodable as UTF-8
TOO_BIG = 2**63
TOO_SMALL = -(2**63) - 1


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("fastapi")
    from mlcore.server import Server

    home = tmp_path_factory.mktemp("server")
    srv = Server.tracking(store=f"sqlite:///{home}/mlcore.db", artifacts=str(home / "artifacts"))
    url = srv.start()
    yield url
    srv.stop()


@pytest.fixture(params=["sqlite", "http"])
def tracker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tracker]:
    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path}/s.db"
    else:
        uri = request.getfixturevalue("server_url")
    tracker = Tracker(uri)
    tracker._writer.interval = 3600.0  # only explicit flushes store, so tests are exact
    yield tracker
    tracker.close()


def _values(tracker: Tracker, run_id: str, key: str = "m") -> list[float]:
    return list(tracker.metric_history(run_id, key).column("value").to_pylist())


# -- refused at the call -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"step": TOO_BIG}, "step"),
        ({"step": TOO_SMALL}, "step"),
        ({"timestamp": TOO_BIG}, "timestamp"),
        ({"timestamp": -1}, "timestamp"),
        ({"key": BAD_KEY}, "metric key"),
        ({"value": "0.5"}, "m"),
        ({"value": 10**400}, "m"),
        ({"value": None}, "m"),
    ],
)
def test_a_bad_point_is_refused_at_the_call_and_nothing_is_lost(
    tracker: Tracker, kwargs: dict[str, Any], field: str
) -> None:
    run = tracker.start_run("exp")
    for i in range(50):
        run.log_metric("m", float(i), step=i)
    call = {"key": "m", "value": 1.0, "step": 50, **kwargs}
    backlog = tracker._writer.backlog
    with pytest.raises(InvalidInputError) as info:
        run.log_metric(**call)
    assert info.value.field == field
    assert tracker._writer.backlog == backlog  # nothing buffered
    if "timestamp" not in kwargs:  # log_metrics and log take no timestamp
        with pytest.raises(InvalidInputError):
            run.log_metrics({"m": 1.0, call["key"]: call["value"]}, step=call["step"])
        with pytest.raises(InvalidInputError):
            run.log({"m": 1.0, call["key"]: call["value"]}, step=call["step"])
        with pytest.raises(InvalidInputError):
            tracker.log_metrics(run.id, {"m": 1.0, call["key"]: call["value"]}, call["step"])
    else:
        with pytest.raises(InvalidInputError):
            tracker.log_metrics(run.id, {"m": 1.0}, step=50, timestamp=kwargs["timestamp"])
    assert tracker._writer.backlog == backlog  # a call with one bad point buffers none of it
    assert run.step == 0  # log() did not advance
    for i in range(50, 100):
        run.log_metric("m", float(i), step=i)
    run.end()
    assert _values(tracker, run.id) == [float(i) for i in range(100)]
    assert tracker.get_run(run.id).info.status is RunStatus.FINISHED


def test_edge_values_are_accepted(tracker: Tracker) -> None:
    run = tracker.start_run("exp")
    run.log_metric("m", 1.0, step=2**63 - 1, timestamp=2**63 - 1)
    run.log_metric("m", 2.0, step=-(2**63), timestamp=0)
    run.log_metric("m", float("nan"), step=0)
    run.end()
    history = tracker.metric_history(run.id, "m")
    assert history.column("step").to_pylist() == [-(2**63), 0, 2**63 - 1]


def test_fluent_log_metric_refuses_out_of_range_steps(tmp_path: Path) -> None:
    import mlcore

    mlcore.set_tracking_uri(f"sqlite:///{tmp_path}/f.db")
    with mlcore.start_run(experiment="exp") as run:
        mlcore.log_metric("m", 1.0, step=1)
        with pytest.raises(InvalidInputError, match="step"):
            mlcore.log_metric("m", 2.0, step=TOO_BIG)
        with pytest.raises(InvalidInputError, match="metric key"):
            mlcore.log_metric(BAD_KEY, 2.0)
    assert mlcore.get_run(run.id).info.status is RunStatus.FINISHED
    assert mlcore.get_run(run.id).data.metrics == {"m": 1.0}


# -- refused by the store: split out, reported, the rest stored ----------------------------------
@pytest.mark.parametrize(
    "bad",
    [
        ("m", 1.0, 0, TOO_BIG),  # (key, value, timestamp, step)
        ("m", 1.0, TOO_BIG, 7),
        (BAD_KEY, 1.0, 0, 7),
        ("m", 1.0, 0, TOO_SMALL),
    ],
    ids=["step", "timestamp", "surrogate", "negative"],
)
@pytest.mark.parametrize("position", [0, 37, 100])
def test_a_smuggled_bad_point_costs_only_itself(
    tracker: Tracker, bad: tuple[Any, ...], position: int, caplog: pytest.LogCaptureFixture
) -> None:
    run = tracker.start_run("exp")
    points: list[Any] = [(run.id, "m", float(i), 1_000 + i, i) for i in range(100)]
    points.insert(position, (run.id, *bad))
    writer = tracker._writer
    with caplog.at_level(logging.WARNING, logger="mlcore.tracking.writer"):
        writer.extend(points)  # past the call's checks, as a store-specific limit would be
        tracker.flush()  # does not raise
    assert writer.backlog == 0
    assert writer.rejected_count == 1
    assert [p[:2] for p, _ in writer.rejected] == [(run.id, bad[0])]
    assert "rejected" in caplog.text
    run.log_metric("m", 100.0, step=100)  # logging goes on
    run.end()
    assert _values(tracker, run.id) == [float(i) for i in range(101)]
    steps = tracker.metric_history(run.id, "m").column("step").to_pylist()
    assert steps == list(range(101))
    assert tracker.get_run(run.id).info.status is RunStatus.FINISHED
    tracker.close()  # does not raise


def test_many_bad_points_in_a_background_batch(tracker: Tracker) -> None:
    run = tracker.start_run("exp")
    tracker._writer.interval = 0.05
    tracker._writer._wake.set()
    good = [(run.id, "m", float(i), 1, i) for i in range(1000)]
    for i in range(0, 1000, 100):
        tracker._writer.extend([*good[i : i + 100], (run.id, "m", 0.0, 1, TOO_BIG + i)])
    run.end()
    assert _values(tracker, run.id) == [float(i) for i in range(1000)]
    assert tracker._writer.rejected_count == 10
    assert tracker.get_run(run.id).info.status is RunStatus.FINISHED


class RecordingStore(SqlStore):
    """Records every metric write (points, batch id) before storing it."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.calls: list[tuple[tuple[MetricPoint, ...], str | None]] = []
        self.lock = threading.Lock()

    def _log_metrics(self, points: Sequence[MetricPoint], batch_id: str | None) -> None:
        with self.lock:
            self.calls.append((tuple(points), batch_id))
        super()._log_metrics(points, batch_id)


def test_a_rejected_batch_is_never_sent_again_unchanged(tmp_path: Path) -> None:
    store = RecordingStore(f"sqlite:///{tmp_path}/s.db")
    tracker = Tracker(store=store)
    tracker._writer.interval = 3600.0
    run = tracker.start_run("exp")
    points: list[Any] = [(run.id, "m", float(i), 1, i) for i in range(1024)]
    points[700] = (run.id, "m", 0.0, 1, TOO_BIG)
    tracker._writer.extend(points)
    tracker.flush()
    tracker.flush()
    sent = [(p, b) for p, b in store.calls if p]
    assert len(sent) == len(set(sent))  # no write repeated
    assert len({b for _, b in sent}) == len(sent)  # each piece under its own batch id
    assert len(sent) <= 2 * 11 + 1  # bisection: about two writes per level
    run.end()
    assert tracker.metric_history(run.id, "m").num_rows == 1023
    tracker.close()

"""Downsampled metric histories: a spike in a million points survives every zoom, extremes,
end points and determinism, and the M4 selection itself on awkward input."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

import mlcore
from mlcore.errors import InvalidInputError
from mlcore.stores import downsample
from mlcore.stores.sql import SqlStore

N = 1_000_000
SPIKE = 654_321


@pytest.fixture(scope="module")
def million(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SqlStore, str]]:
    """A run whose ``loss`` has a million points (a smooth wave) and one spike."""
    store = SqlStore(f"sqlite:///{tmp_path_factory.mktemp('m')}/m.db")
    experiment_id = store.create_experiment("big").experiment_id
    run_id = store.create_run(experiment_id, name="r", start_time=0).info.run_id
    for start in range(0, N, 200_000):
        store.log_metrics(
            [
                (run_id, "loss", 1000.0 if s == SPIKE else math.sin(s / 5000.0), 10 * s, s)
                for s in range(start, start + 200_000)
            ]
        )
    yield store, run_id
    store.close()


def test_a_spike_in_a_million_points_survives_every_zoom(million: tuple[SqlStore, str]) -> None:
    store, run_id = million
    full = store.metric_history(run_id, "loss")
    sampled = store.metric_history(run_id, "loss", max_points=2000)
    assert full.num_rows == N
    assert 0 < sampled.num_rows <= 2000
    assert downsample.total_points(sampled) == N
    values = sampled.column("value").to_pylist()
    steps = sampled.column("step").to_pylist()
    assert values[steps.index(SPIKE)] == 1000.0
    assert max(values) == max(full.column("value").to_pylist())
    assert min(values) == min(full.column("value").to_pylist())
    assert (steps[0], steps[-1]) == (0, N - 1)
    assert sampled.equals(store.metric_history(run_id, "loss", max_points=2000))
    for low, high in ((0, N - 1), (500_000, 800_000), (650_000, 660_000), (SPIKE - 700, SPIKE + 5)):
        zoom = store.metric_history(run_id, "loss", max_points=2000, min_step=low, max_step=high)
        zoom_steps = zoom.column("step").to_pylist()
        assert zoom.num_rows <= 2000
        assert zoom_steps[0] == low
        assert zoom_steps[-1] == high
        assert SPIKE in zoom_steps
        assert 1000.0 in zoom.column("value").to_pylist()
    # a range of at most max_points points comes at full resolution
    small = store.metric_history(
        run_id, "loss", max_points=2000, min_step=SPIKE - 999, max_step=SPIKE
    )
    assert small.column("step").to_pylist() == list(range(SPIKE - 999, SPIKE + 1))
    assert small.column("timestamp").to_pylist()[-1] == 10 * SPIKE


def test_sampled_histories_of_a_million_points(million: tuple[SqlStore, str]) -> None:
    store, run_id = million
    (series,) = store.sampled_histories([run_id], ["loss"], max_points=1000)
    assert series.total_points == N
    assert series.sampled
    assert len(series.steps) <= 1000
    assert 1000.0 in series.values
    assert series.steps[0] == 0
    assert series.steps[-1] == N - 1


def test_the_fluent_api_and_an_active_run_sample(tmp_path: Path) -> None:
    tracker = mlcore.Tracker(str(tmp_path / "home"))
    with tracker.start_run() as run:
        for step in range(10_000):
            run.log_metric("loss", -5.0 if step == 4321 else 1.0, step=step)
        table = run.metric_history("loss", max_points=40)
        assert table.num_rows <= 40
        assert -5.0 in table.column("value").to_pylist()
        zoom = tracker.metric_history(run.id, "loss", min_step=4000, max_step=4999)
        assert zoom.num_rows == 1000
        with pytest.raises(InvalidInputError, match="max_points"):
            tracker.metric_history(run.id, "loss", max_points=0)
        with pytest.raises(InvalidInputError, match="min_step"):
            tracker.metric_history(run.id, "loss", min_step=9, max_step=1)
        assert tracker.metric_history(run.id, "loss").num_rows == 10_000
    tracker.close()


def _table(steps: list[int], values: list[float]) -> pa.Table:
    return pa.table(
        {
            "step": pa.array(steps, pa.int64()),
            "timestamp": pa.array(steps, pa.int64()),
            "value": pa.array(values, pa.float64()),
        }
    )


def test_m4_keeps_nan_infinities_and_works_with_repeated_and_huge_steps() -> None:
    n = 10_000
    values = [float(i % 10) for i in range(n)]
    values[5000], values[6000], values[7000] = math.nan, math.inf, -math.inf
    out = downsample.sample(_table(list(range(n)), values), 50)
    kept = out.column("value").to_pylist()
    assert out.num_rows <= 50
    assert math.inf in kept and -math.inf in kept
    assert any(math.isnan(v) for v in kept)
    # the same step many times, and steps near the ends of int64
    repeated = downsample.sample(_table([7] * 1000, [float(i) for i in range(1000)]), 8)
    assert repeated.num_rows <= 8
    assert set(repeated.column("value").to_pylist()) >= {0.0, 999.0}
    edges = [-(2**63), -5, 0, 2**63 - 2, 2**63 - 1]
    wide = downsample.sample(_table(edges, [1.0, 9.0, -9.0, 2.0, 3.0]), 4)
    assert wide.num_rows <= 4
    assert {9.0, -9.0} <= set(wide.column("value").to_pylist())


def test_fewer_points_than_a_bucket_keep_the_extremes_first() -> None:
    table = _table(list(range(100)), [0.0] * 50 + [8.0] + [0.0] * 48 + [-3.0])
    assert downsample.sample(table, 1).column("value").to_pylist() == [8.0]
    assert downsample.sample(table, 2).column("value").to_pylist() == [8.0, -3.0]
    three = downsample.sample(table, 3)
    assert three.column("step").to_pylist() == [0, 50, 99]


def test_m4_over_many_chunks_keeps_each_point_whole() -> None:
    # a history read back as several stored chunks; its only NaN sits in the last bucket, so
    # sampling learns late that buckets take five points; every kept row must still be one
    # stored point (its step, timestamp and value together)
    n, parts = 30_000, 7
    steps = list(range(n))
    values = [math.cos(s / 300.0) for s in steps]
    values[123], values[20_001], values[n - 2] = 50.0, -50.0, math.nan
    timestamps = [1_700_000_000_000 + 3 * s for s in steps]
    cuts = [n * k // parts for k in range(parts + 1)]

    def chunked(items: list[float] | list[int], kind: pa.DataType) -> pa.ChunkedArray:
        return pa.chunked_array([items[a:b] for a, b in itertools.pairwise(cuts)], kind)

    table = pa.table(
        {
            "step": chunked(steps, pa.int64()),
            "timestamp": chunked(timestamps, pa.int64()),
            "value": chunked(values, pa.float64()),
        }
    )
    out = downsample.sample(table, 1000)
    assert 0 < out.num_rows <= 1000
    assert downsample.total_points(out) == n
    kept = out.to_pydict()
    for step, timestamp, value in zip(kept["step"], kept["timestamp"], kept["value"]):
        assert timestamp == timestamps[step]
        assert value == values[step] or (math.isnan(value) and math.isnan(values[step]))
    assert {50.0, -50.0} <= set(kept["value"])
    assert n - 2 in kept["step"]  # the NaN
    assert kept["step"][0] == 0 and kept["step"][-1] == n - 1
    assert kept["step"] == sorted(kept["step"])

"""``TrackingStoreConformance``: what every ``TrackingStore`` must do, as pytest tests.

Use it by mixing it into a test class that provides a ``store`` fixture returning a fresh,
empty store::

    from mlcore.testing import TrackingStoreConformance

    class TestMyStore(TrackingStoreConformance):
        @pytest.fixture
        def store(self, tmp_path):
            return MyStore.from_uri(f"mystore://{tmp_path}")

A store that implements every interface (a ``TrackingStore``) runs
:class:`~mlcore.testing.StoreConformance` instead, which adds the registry and
artifact-version suites.
"""

from __future__ import annotations

import math
import time
import uuid
from typing import Any

import pytest

from mlcore.errors import (
    AlreadyExistsError,
    InvalidInputError,
    NotFoundError,
    ParamConflictError,
)
from mlcore.stores import NewRun, RunUpdate, TrackingStore
from mlcore.types import FileInfo, RunStatus

__all__ = ["BAD_NAMES", "TrackingStoreConformance", "new_run", "now_ms", "source_run"]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def new_run(store: TrackingStore, experiment_id: str, **kwargs: Any) -> str:
    kwargs.setdefault("name", "run")
    kwargs.setdefault("start_time", now_ms())
    return store.create_run(experiment_id, **kwargs).info.run_id


def source_run(store: TrackingStore, name: str = "r") -> str:
    """A run in the experiment ``registry`` (created on first use): what the registry and
    artifact-version suites link their versions to."""
    experiment = store.get_experiment_by_name("registry") or store.create_experiment("registry")
    return store.create_run(
        experiment.experiment_id, name=name, start_time=time.time_ns() // 1_000_000
    ).info.run_id


BAD_NAMES = ["", "   ", "x" * 300, "tab\there", "new\nline", "nul\x00", " padded"]


class TrackingStoreConformance:
    """Behaviour every tracking store shares. Needs a ``store`` fixture (fresh and empty)."""

    @pytest.fixture
    def experiment_id(self, store: TrackingStore) -> str:
        return store.create_experiment(f"exp-{uuid.uuid4().hex[:8]}").experiment_id

    # -- experiments -----------------------------------------------------------------------------
    def test_create_and_get_experiment(self, store: TrackingStore) -> None:
        created = store.create_experiment("credit", tags={"team": "risk"}, description="d")
        fetched = store.get_experiment(created.experiment_id)
        assert fetched.name == "credit"
        assert fetched.tags == {"team": "risk"}
        assert fetched.description == "d"
        assert fetched.lifecycle_stage.value == "active"
        assert fetched.artifact_location.endswith("/" + created.experiment_id)
        assert store.get_experiment_by_name("credit") == fetched
        assert store.get_experiment_by_name("missing") is None

    def test_duplicate_experiment_name_is_refused(self, store: TrackingStore) -> None:
        store.create_experiment("dup")
        with pytest.raises(AlreadyExistsError, match="dup"):
            store.create_experiment("dup")
        assert [e.name for e in store.search_experiments()] == ["dup"]

    @pytest.mark.parametrize("bad", BAD_NAMES)
    def test_invalid_experiment_names_are_refused(self, store: TrackingStore, bad: str) -> None:
        with pytest.raises(InvalidInputError):
            store.create_experiment(bad)
        assert store.search_experiments("all") == []

    def test_unknown_experiment_is_not_found(self, store: TrackingStore) -> None:
        with pytest.raises(NotFoundError):
            store.get_experiment("987654")
        with pytest.raises(NotFoundError):
            store.get_experiment("not-a-number")

    def test_rename_delete_restore_experiment(self, store: TrackingStore) -> None:
        first = store.create_experiment("a")
        store.create_experiment("b")
        with pytest.raises(AlreadyExistsError):
            store.rename_experiment(first.experiment_id, "b")
        store.rename_experiment(first.experiment_id, "c")
        assert store.get_experiment(first.experiment_id).name == "c"
        store.delete_experiment(first.experiment_id)
        assert [e.name for e in store.search_experiments("active")] == ["b"]
        assert [e.name for e in store.search_experiments("deleted")] == ["c"]
        with pytest.raises(AlreadyExistsError, match="deleted"):
            store.create_experiment("c")
        with pytest.raises(InvalidInputError):
            store.create_run(first.experiment_id, name="r", start_time=now_ms())
        store.restore_experiment(first.experiment_id)
        assert sorted(e.name for e in store.search_experiments()) == ["b", "c"]

    def test_experiment_tags(self, store: TrackingStore) -> None:
        exp = store.create_experiment("tagged")
        store.set_experiment_tag(exp.experiment_id, "owner", "ana")
        store.set_experiment_tag(exp.experiment_id, "owner", "bo")
        assert store.get_experiment(exp.experiment_id).tags == {"owner": "bo"}
        store.set_experiment_tag(exp.experiment_id, "team", "risk")
        store.delete_experiment_tag(exp.experiment_id, "owner")
        assert store.get_experiment(exp.experiment_id).tags == {"team": "risk"}
        with pytest.raises(NotFoundError):
            store.delete_experiment_tag(exp.experiment_id, "owner")  # already gone
        assert store.get_experiment(exp.experiment_id).tags == {"team": "risk"}

    # -- runs ------------------------------------------------------------------------------------
    def test_create_and_get_run(self, store: TrackingStore, experiment_id: str) -> None:
        run = store.create_run(
            experiment_id,
            name="first",
            start_time=1_000,
            tags={"stage": "dev"},
            config={"lr": 0.1, "layers": [64, 32], "opt": {"momentum": 0.9}},
            params={"seed": 7},
        )
        assert len(run.id) == 32
        fetched = store.get_run(run.id)
        assert fetched.info.name == "first"
        assert fetched.info.status is RunStatus.RUNNING
        assert fetched.info.experiment_id == experiment_id
        assert fetched.info.start_time == 1_000
        assert fetched.info.artifact_uri.endswith(run.id)
        assert fetched.data.tags == {"stage": "dev"}
        assert fetched.config == {"lr": 0.1, "layers": [64, 32], "opt": {"momentum": 0.9}}
        assert fetched.data.params == {
            "lr": "0.1",
            "layers": "[64, 32]",
            "opt.momentum": "0.9",
            "seed": "7",
        }

    def test_a_chosen_run_id_is_taken_once(self, store: TrackingStore, experiment_id: str) -> None:
        """How a sweep's agents claim a trial: the second create of an id fails, the first
        run stays as it was."""
        run_id = "c" * 32
        store.create_run(experiment_id, name="first", start_time=1, run_id=run_id, params={"a": 1})
        with pytest.raises(AlreadyExistsError):
            store.create_run(
                experiment_id, name="second", start_time=2, run_id=run_id, params={"a": 2}
            )
        kept = store.get_run(run_id)
        assert (kept.info.name, kept.data.params) == ("first", {"a": "1"})

    def test_unknown_run_is_not_found(self, store: TrackingStore, experiment_id: str) -> None:
        for bad in ("0" * 32, "short", "../../etc/passwd", "Z" * 32):
            with pytest.raises(NotFoundError):
                store.get_run(bad)
        with pytest.raises(NotFoundError):
            store.log_params("0" * 32, {"a": 1})
        with pytest.raises(NotFoundError):
            store.set_tags("0" * 32, {"a": 1})
        with pytest.raises(NotFoundError):
            store.create_run("987654", name="r", start_time=now_ms())
        with pytest.raises(NotFoundError):
            store.create_run(experiment_id, name="r", start_time=1, parent_run_id="f" * 32)

    @pytest.mark.parametrize("bad", BAD_NAMES)
    def test_invalid_run_names_are_refused(
        self, store: TrackingStore, experiment_id: str, bad: str
    ) -> None:
        with pytest.raises(InvalidInputError):
            store.create_run(experiment_id, name=bad, start_time=now_ms())
        assert list(store.search_runs([experiment_id])) == []

    def test_update_run_status_and_end_time(self, store: TrackingStore, experiment_id: str) -> None:
        run_id = new_run(store, experiment_id)
        info = store.update_run(run_id, status="FINISHED", end_time=5_000)
        assert info.status is RunStatus.FINISHED
        assert info.end_time == 5_000
        store.update_run(run_id, name="renamed")
        assert store.get_run(run_id).info.name == "renamed"
        with pytest.raises(InvalidInputError, match="status"):
            store.update_run(run_id, status="DONE")
        with pytest.raises(InvalidInputError, match="CRASHED"):
            store.update_run(run_id, status="CRASHED")
        assert store.get_run(run_id).info.status is RunStatus.FINISHED

    def test_update_run_sets_tags_with_the_status(
        self, store: TrackingStore, experiment_id: str
    ) -> None:
        run_id = new_run(store, experiment_id, tags={"stage": "train"})
        store.update_run(run_id, status="FAILED", end_time=7, tags={"stage": "done", "why": 1})
        run = store.get_run(run_id)
        assert run.info.status is RunStatus.FAILED
        assert run.data.tags == {"stage": "done", "why": "1"}
        with pytest.raises(InvalidInputError):
            store.update_run(run_id, status="FINISHED", tags={"bad\nkey": "x"})
        assert store.get_run(run_id).info.status is RunStatus.FAILED  # nothing applied

    def test_no_run_is_created_in_a_deleted_experiment(
        self, store: TrackingStore, experiment_id: str
    ) -> None:
        store.delete_experiment(experiment_id)
        with pytest.raises(InvalidInputError, match="deleted"):
            store.create_run(experiment_id, name="r", start_time=1, tags={"a": 1})
        store.restore_experiment(experiment_id)
        assert list(store.search_runs([experiment_id])) == []
        new_run(store, experiment_id)
        assert len(list(store.search_runs([experiment_id]))) == 1

    def test_end_run_sets_status_end_time_and_tags_together(
        self, store: TrackingStore, experiment_id: str
    ) -> None:
        run_id = new_run(store, experiment_id, tags={"stage": "train"}, alive_until=now_ms())
        info = store.end_run(run_id, status="failed", end_time=9_000, tags={"stage": "done"})
        assert (info.run_id, info.status, info.end_time) == (run_id, RunStatus.FAILED, 9_000)
        run = store.get_run(run_id)
        assert run.info == info
        assert run.data.tags == {"stage": "done"}
        later = store.end_run(run_id, end_time=10_000)  # FINISHED by default
        assert (later.status, later.end_time) == (RunStatus.FINISHED, 10_000)

    def test_end_run_refuses_bad_input_and_unknown_runs(
        self, store: TrackingStore, experiment_id: str
    ) -> None:
        run_id = new_run(store, experiment_id)
        for status, message in (("DONE", "unknown run status"), ("CRASHED", "heartbeat")):
            with pytest.raises(InvalidInputError, match=message):
                store.end_run(run_id, status=status, end_time=1)
        with pytest.raises(InvalidInputError):
            store.end_run(run_id, end_time=1, tags={"bad\nkey": "x"})
        with pytest.raises(NotFoundError):
            store.end_run("0" * 32, end_time=1)
        run = store.get_run(run_id)
        assert (run.info.status, run.info.end_time) == (RunStatus.RUNNING, None)

    def test_end_run_compacts_and_keeps_every_point(
        self, store: TrackingStore, experiment_id: str
    ) -> None:
        run_id = new_run(store, experiment_id)
        for i in range(40):
            store.log_metrics([(run_id, "m", float(i), i, i)], batch_id=uuid.uuid4().hex)
        store.end_run(run_id, end_time=now_ms())
        history = store.metric_history(run_id, "m")
        assert history.column("value").to_pylist() == [float(i) for i in range(40)]
        assert store.compact_metrics(run_id) == 0  # nothing left to merge

    def test_create_runs_in_one_call(self, store: TrackingStore, experiment_id: str) -> None:
        parent = new_run(store, experiment_id, name="pipeline")
        created = store.create_runs(
            experiment_id,
            [
                NewRun(
                    name=f"step-{i}",
                    start_time=1000 + i,
                    tags={"i": i},
                    params={"x": i},
                    parent_run_id=parent,
                )
                for i in range(5)
            ],
        )
        assert [r.info.name for r in created] == [f"step-{i}" for i in range(5)]
        assert len({r.info.run_id for r in created}) == 5
        for i, run in enumerate(created):
            stored = store.get_run(run.info.run_id)
            assert stored.info.parent_run_id == parent
            assert stored.info.status is RunStatus.RUNNING
            assert stored.data.tags == {"i": str(i)} == run.data.tags
            assert stored.data.params == {"x": str(i)} == run.data.params
            assert stored.info.artifact_uri == run.info.artifact_uri
        children = store.search_runs([experiment_id], f"attributes.parent_run_id = '{parent}'")
        assert len(children) == 5

    def test_create_runs_is_all_or_nothing(self, store: TrackingStore, experiment_id: str) -> None:
        missing_parent = uuid.uuid4().hex
        with pytest.raises(NotFoundError):
            store.create_runs(
                experiment_id,
                [
                    NewRun(name="ok", start_time=1),
                    NewRun(name="orphan", start_time=2, parent_run_id=missing_parent),
                ],
            )
        with pytest.raises(InvalidInputError):
            store.create_runs(
                experiment_id, [NewRun(name="ok", start_time=1), NewRun(name="", start_time=2)]
            )
        assert list(store.search_runs([experiment_id])) == []

    def test_update_runs_and_create_runs_together(
        self, store: TrackingStore, experiment_id: str
    ) -> None:
        first = new_run(store, experiment_id, name="first")
        second = new_run(store, experiment_id, name="second")
        store.update_runs(
            [
                RunUpdate(first, status="FINISHED", end_time=10, tags={"out": "1"}),
                RunUpdate(second, tags={"note": "still going"}),
            ]
        )
        assert store.get_run(first).info.status is RunStatus.FINISHED
        assert store.get_run(first).info.end_time == 10
        assert store.get_run(second).info.status is RunStatus.RUNNING
        assert store.get_run(second).data.tags == {"note": "still going"}
        (third,) = store.create_runs(
            experiment_id,
            [NewRun(name="third", start_time=20)],
            updates=[RunUpdate(second, status="KILLED", end_time=20)],
        )
        assert store.get_run(second).info.status is RunStatus.KILLED
        assert store.get_run(third.info.run_id).info.name == "third"
        with pytest.raises(NotFoundError):  # an unknown run fails the whole call
            store.create_runs(
                experiment_id,
                [NewRun(name="fourth", start_time=30)],
                updates=[RunUpdate(uuid.uuid4().hex, status="FINISHED")],
            )
        assert {r.info.name for r in store.search_runs([experiment_id])} == {
            "first",
            "second",
            "third",
        }
        with pytest.raises(InvalidInputError, match="CRASHED"):
            store.update_runs([RunUpdate(first, status="CRASHED")])

    def test_stale_heartbeat_reads_as_crashed(
        self, store: TrackingStore, experiment_id: str
    ) -> None:
        alive = new_run(store, experiment_id, alive_until=now_ms() + 60_000)
        dead = new_run(store, experiment_id, alive_until=now_ms() - 1)
        untracked = new_run(store, experiment_id)
        assert store.get_run(alive).info.status is RunStatus.RUNNING
        assert store.get_run(dead).info.status is RunStatus.CRASHED
        assert store.get_run(untracked).info.status is RunStatus.RUNNING
        crashed = store.search_runs([experiment_id], "attributes.status = 'CRASHED'")
        assert [r.id for r in crashed] == [dead]
        running = store.search_runs([experiment_id], "attributes.status = 'RUNNING'")
        assert {r.id for r in running} == {alive, untracked}
        store.heartbeat([dead], now_ms() + 60_000)
        assert store.get_run(dead).info.status is RunStatus.RUNNING

    def test_delete_and_restore_run(self, store: TrackingStore, experiment_id: str) -> None:
        run_id = new_run(store, experiment_id)
        store.delete_run(run_id)
        assert list(store.search_runs([experiment_id])) == []
        assert [r.id for r in store.search_runs([experiment_id], view="deleted")] == [run_id]
        assert store.get_run(run_id).info.lifecycle_stage.value == "deleted"
        store.restore_run(run_id)
        assert [r.id for r in store.search_runs([experiment_id])] == [run_id]

    def test_update_config_merges_and_refuses_changes(
        self, store: TrackingStore, experiment_id: str
    ) -> None:
        run_id = store.create_run(
            experiment_id, name="r", start_time=1, config={"lr": 0.1}
        ).info.run_id
        merged = store.update_run_config(run_id, {"batch": 32})
        assert merged == {"lr": 0.1, "batch": 32}
        with pytest.raises(ParamConflictError):
            store.update_run_config(run_id, {"lr": 0.2, "other": 1})
        run = store.get_run(run_id)
        assert run.config == {"lr": 0.1, "batch": 32}
        assert "other" not in run.data.params

    # -- params and tags --------------------------------------------------------------------------
    def test_params_are_immutable(self, store: TrackingStore, experiment_id: str) -> None:
        run_id = new_run(store, experiment_id)
        store.log_params(run_id, {"lr": 0.01, "depth": 6})
        store.log_params(run_id, {"lr": 0.01})  # same value again: fine
        with pytest.raises(ParamConflictError, match="lr"):
            store.log_params(run_id, {"new": "x", "lr": 0.02})
        assert store.get_run(run_id).data.params == {"lr": "0.01", "depth": "6"}

    @pytest.mark.parametrize("bad", BAD_NAMES)
    def test_invalid_keys_are_refused(
        self, store: TrackingStore, experiment_id: str, bad: str
    ) -> None:
        run_id = new_run(store, experiment_id)
        with pytest.raises(InvalidInputError):
            store.log_params(run_id, {"ok": 1, bad: 2})
        with pytest.raises(InvalidInputError):
            store.set_tags(run_id, {"ok": 1, bad: 2})
        data = store.get_run(run_id).data
        assert data.params == {}
        assert data.tags == {}

    def test_too_long_values_are_refused(self, store: TrackingStore, experiment_id: str) -> None:
        run_id = new_run(store, experiment_id)
        with pytest.raises(InvalidInputError, match="limit"):
            store.log_params(run_id, {"p": "x" * 9000})
        assert store.get_run(run_id).data.params == {}

    def test_tags_overwrite_and_delete(self, store: TrackingStore, experiment_id: str) -> None:
        run_id = new_run(store, experiment_id)
        store.set_tags(run_id, {"stage": "dev", "owner": "ana"})
        store.set_tags(run_id, {"stage": "prod"})
        store.delete_tag(run_id, "owner")
        assert store.get_run(run_id).data.tags == {"stage": "prod"}
        with pytest.raises(NotFoundError):
            store.delete_tag(run_id, "owner")

    # -- metrics ---------------------------------------------------------------------------------
    def test_metric_history_and_latest(self, store: TrackingStore, experiment_id: str) -> None:
        run_id = new_run(store, experiment_id)
        store.log_metrics([(run_id, "loss", 1.0 / (s + 1), 1000 + s, s) for s in range(100)])
        store.log_metrics([(run_id, "loss", 9.0, 5000, 50)])  # an old step logged late
        history = store.metric_history(run_id, "loss")
        assert history.column_names == ["step", "timestamp", "value"]
        assert history.num_rows == 101
        steps = [int(s) for s in history.column("step").to_pylist() if s is not None]
        assert steps == sorted(steps)
        assert store.get_run(run_id).data.metrics == {"loss": 1.0 / 100}  # max step wins

    def test_metric_latest_ties_go_to_the_newest_timestamp(
        self, store: TrackingStore, experiment_id: str
    ) -> None:
        run_id = new_run(store, experiment_id)
        store.log_metrics([(run_id, "acc", 0.5, 2000, 3)])
        store.log_metrics([(run_id, "acc", 0.7, 3000, 3)])
        store.log_metrics([(run_id, "acc", 0.1, 1000, 3)])
        assert store.get_run(run_id).data.metrics["acc"] == 0.7

    def test_special_float_values(self, store: TrackingStore, experiment_id: str) -> None:
        run_id = new_run(store, experiment_id)
        store.log_metrics(
            [
                (run_id, "nan", math.nan, 1, 0),
                (run_id, "inf", math.inf, 1, 0),
                (run_id, "neg", -math.inf, 1, 0),
            ]
        )
        metrics = store.get_run(run_id).data.metrics
        assert math.isnan(metrics["nan"])
        assert metrics["inf"] == math.inf
        assert metrics["neg"] == -math.inf
        assert math.isnan(store.metric_history(run_id, "nan").column("value")[0].as_py())

    def test_metrics_of_several_runs_in_one_batch(
        self, store: TrackingStore, experiment_id: str
    ) -> None:
        a, b = new_run(store, experiment_id), new_run(store, experiment_id)
        store.log_metrics([(a, "m", 1.0, 1, 0), (b, "m", 2.0, 1, 0), (a, "m", 3.0, 2, 1)])
        assert store.metric_history(a, "m").column("value").to_pylist() == [1.0, 3.0]
        assert store.metric_history(b, "m").column("value").to_pylist() == [2.0]

    def test_batch_id_makes_metric_writes_idempotent(
        self, store: TrackingStore, experiment_id: str
    ) -> None:
        run_id = new_run(store, experiment_id)
        batch = [(run_id, "m", float(i), i, i) for i in range(10)]
        store.log_metrics(batch, batch_id="b" * 32)
        store.log_metrics(batch, batch_id="b" * 32)  # a retry
        store.log_metrics(batch[:1], batch_id="c" * 32)
        assert store.metric_history(run_id, "m").num_rows == 11

    def test_points_of_unknown_runs_are_dropped_not_fatal(
        self, store: TrackingStore, experiment_id: str
    ) -> None:
        run_id = new_run(store, experiment_id)
        store.log_metrics([(run_id, "m", 1.0, 1, 0), ("0" * 32, "m", 2.0, 1, 0)])
        assert store.metric_history(run_id, "m").column("value").to_pylist() == [1.0]

    def test_history_of_unknown_metric_is_empty(
        self, store: TrackingStore, experiment_id: str
    ) -> None:
        run_id = new_run(store, experiment_id)
        assert store.metric_history(run_id, "never").num_rows == 0
        with pytest.raises(NotFoundError):
            store.metric_history("0" * 32, "never")

    def test_compaction_keeps_every_point(self, store: TrackingStore, experiment_id: str) -> None:
        run_id = new_run(store, experiment_id)
        for i in range(40):
            store.log_metrics([(run_id, "m", float(i), i, i)], batch_id=uuid.uuid4().hex)
        store.compact_metrics(run_id)
        history = store.metric_history(run_id, "m")
        assert history.column("value").to_pylist() == [float(i) for i in range(40)]

    # -- downsampled histories and summaries -------------------------------------------------
    def test_metric_history_max_points_keeps_extremes(
        self, store: TrackingStore, experiment_id: str
    ) -> None:
        run_id = new_run(store, experiment_id)
        n = 20_000
        points = [(run_id, "loss", math.sin(s / 300.0), 1000 + s, s) for s in range(n)]
        points[12_345] = (run_id, "loss", 40.0, 1000 + 12_345, 12_345)  # one spike
        points[777] = (run_id, "loss", -30.0, 1000 + 777, 777)  # one dip
        store.log_metrics(points)
        full = store.metric_history(run_id, "loss")
        sampled = store.metric_history(run_id, "loss", max_points=400)
        assert sampled.column_names == ["step", "timestamp", "value"]
        assert 0 < sampled.num_rows <= 400
        steps = [int(s) for s in sampled.column("step").to_pylist() if s is not None]
        values = [float(v) for v in sampled.column("value").to_pylist() if v is not None]
        every = [float(v) for v in full.column("value").to_pylist() if v is not None]
        assert steps == sorted(steps)
        assert (steps[0], steps[-1]) == (0, n - 1)  # first and last point kept
        assert max(values) == max(every) == 40.0
        assert min(values) == min(every) == -30.0
        assert (12_345, 1000 + 12_345, 40.0) in zip(
            steps, sampled.column("timestamp").to_pylist(), values
        )
        assert store.metric_history(run_id, "loss", max_points=400).equals(sampled)
        # zoomed: the range only, the spike still there; a small range at full resolution
        zoom = store.metric_history(
            run_id, "loss", max_points=400, min_step=10_000, max_step=15_000
        )
        zoom_steps = zoom.column("step").to_pylist()
        assert zoom.num_rows <= 400
        assert zoom_steps[0] == 10_000
        assert zoom_steps[-1] == 15_000
        assert 40.0 in zoom.column("value").to_pylist()
        near = store.metric_history(
            run_id, "loss", max_points=400, min_step=12_300, max_step=12_400
        )
        assert near.column("step").to_pylist() == list(range(12_300, 12_401))
        assert store.metric_history(run_id, "loss", min_step=19_990).num_rows == 10
        assert store.metric_history(run_id, "loss", max_points=n).num_rows == n

    def test_metric_history_refuses_bad_ranges(
        self, store: TrackingStore, experiment_id: str
    ) -> None:
        run_id = new_run(store, experiment_id)
        store.log_metrics([(run_id, "m", float(s), s, s) for s in range(10)])
        for kwargs in (
            {"max_points": 0},
            {"max_points": -5},
            {"min_step": 5, "max_step": 4},
        ):
            with pytest.raises(InvalidInputError):
                store.metric_history(run_id, "m", **kwargs)
            with pytest.raises(InvalidInputError):
                store.sampled_histories([run_id], ["m"], **kwargs)
        with pytest.raises(InvalidInputError):
            store.sampled_histories([run_id], ["m"], max_points=10_001)
        assert store.metric_history(run_id, "m").num_rows == 10  # nothing changed
        assert store.metric_history(run_id, "m", min_step=5, max_step=5).num_rows == 1

    def test_sampled_histories(self, store: TrackingStore, experiment_id: str) -> None:
        a, b = new_run(store, experiment_id), new_run(store, experiment_id)
        store.log_metrics([(a, "loss", float(s % 7), 100 + s, s) for s in range(5_000)])
        store.log_metrics([(a, "loss", 99.0, 100 + 4_000, 4_000)])
        store.log_metrics(
            [(b, "acc", math.nan, 1, 0), (b, "acc", math.inf, 2, 1), (b, "acc", -math.inf, 3, 2)]
        )
        series = store.sampled_histories([a, b], ["loss", "acc"], max_points=100)
        assert [(s.run_id, s.key) for s in series] == [
            (a, "loss"),
            (a, "acc"),
            (b, "loss"),
            (b, "acc"),
        ]
        loss = series[0]
        assert loss.total_points == 5_001
        assert loss.sampled
        assert 0 < len(loss.steps) == len(loss.values) == len(loss.timestamps) <= 100
        assert max(v for v in loss.values if v is not None) == 99.0
        assert (loss.steps[0], loss.steps[-1]) == (0, 4_999)
        assert series[1].steps == []
        assert series[1].total_points == 0
        assert not series[1].sampled
        acc = series[3]
        assert acc.steps == [0, 1, 2]
        assert not acc.sampled
        assert acc.total_points == 3
        assert math.isnan(acc.values[0] or 0.0)  # NaN, also through JSON (null there)
        assert acc.values[1:] == [math.inf, -math.inf]
        assert store.sampled_histories([a], ["loss"], max_points=100) == series[:1]
        ranged = store.sampled_histories(
            [a], ["loss"], max_points=100, min_step=3_990, max_step=4_010
        )
        assert ranged[0].steps == sorted([*range(3_990, 4_011), 4_000])  # 4,000 logged twice
        assert 99.0 in ranged[0].values
        assert store.sampled_histories([], ["loss"]) == []
        with pytest.raises(NotFoundError):
            store.sampled_histories([a, "f" * 32], ["loss"])
        with pytest.raises(InvalidInputError):
            store.sampled_histories([a], [f"k{i}" for i in range(1_001)])

    def test_experiment_summaries(self, store: TrackingStore) -> None:
        empty = store.create_experiment("empty", tags={"team": "a"})
        busy = store.create_experiment("busy")
        gone = store.create_experiment("gone")
        run_ids = [new_run(store, busy.experiment_id, start_time=1_000 + i) for i in range(3)]
        store.end_run(run_ids[0], end_time=9_000_000_000_000)
        store.delete_run(run_ids[1])
        store.delete_experiment(gone.experiment_id)
        summaries = {s.name: s for s in store.experiment_summaries()}
        assert "gone" not in summaries
        assert summaries["busy"].run_count == 2  # the deleted run is not counted
        assert summaries["busy"].last_activity == 9_000_000_000_000
        assert summaries["empty"].run_count == 0
        assert summaries["empty"].tags == {"team": "a"}
        assert (
            summaries["empty"].last_activity
            == store.get_experiment(empty.experiment_id).last_update_time
        )
        with_deleted = store.experiment_summaries(include_deleted=True)
        assert {s.name for s in with_deleted} >= {"empty", "busy", "gone"}
        assert [s.lifecycle_stage.value for s in with_deleted if s.name == "gone"] == ["deleted"]
        ids = [s.experiment_id for s in with_deleted]
        assert ids == sorted(ids, key=int)
        only = store.experiment_summaries([busy.experiment_id, "999999"])
        assert [s.name for s in only] == ["busy"]

    def test_run_columns(self, store: TrackingStore) -> None:
        first = store.create_experiment("cols-a").experiment_id
        second = store.create_experiment("cols-b").experiment_id
        a = new_run(store, first, params={"lr": "0.1", "depth": "3"}, tags={"team": "x"})
        store.log_metrics([(a, "loss", 1.0, 1, 0), (a, "acc", 0.5, 1, 0)])
        b = new_run(store, first, params={"lr": "0.2", "batch": "8"})
        store.log_metrics([(b, "loss", 1.0, 1, 0)])
        c = new_run(store, second, params={"other": "1"}, tags={"only_b": "y"})
        store.log_metrics([(c, "f1", 1.0, 1, 0)])
        d = new_run(store, first, params={"deleted_param": "1"})
        store.delete_run(d)
        columns = store.run_columns([first])
        assert columns.params == ["batch", "depth", "lr"]
        assert columns.metrics == ["acc", "loss"]
        assert "team" in columns.tags
        assert "only_b" not in columns.tags
        assert columns.tags == sorted(set(columns.tags))
        both = store.run_columns([first, second])
        assert both.params == ["batch", "depth", "lr", "other"]
        assert both.metrics == ["acc", "f1", "loss"]
        assert store.run_columns([]).params == []

    def test_run_columns_of_many_runs_find_keys_only_a_few_runs_have(
        self, store: TrackingStore
    ) -> None:
        # enough runs that a store reading only some of them first must still find keys that
        # only the last run has, leave out deleted runs and other experiments' keys
        wide = store.create_experiment("cols-wide").experiment_id
        common = {f"p{j:02d}": str(j) for j in range(15)}
        run_ids = [
            new_run(store, wide, params=common, tags={"team": "a"}, start_time=1_000 + i)
            for i in range(40)
        ]
        store.log_metrics([(r, "loss", 1.0, 0, 0) for r in run_ids])
        last = run_ids[-1]
        store.log_params(last, {"rare": "1"})
        store.set_tags(last, {"rare_tag": "x"})
        store.log_metrics([(last, "rare_metric", 2.0, 0, 0)])
        gone = new_run(store, wide, params={"gone": "1"}, start_time=5_000)
        store.log_metrics([(gone, "gone_metric", 1.0, 0, 0)])
        store.delete_run(gone)
        other = store.create_experiment("cols-other").experiment_id
        new_run(store, other, params={"o1": "1", "o2": "2"}, tags={"other_tag": "y"})

        def check() -> None:
            columns = store.run_columns([wide])
            assert columns.params == sorted([*common, "rare"])
            assert columns.metrics == ["loss", "rare_metric"]
            assert {"team", "rare_tag"} <= set(columns.tags)
            assert "other_tag" not in columns.tags

        check()
        # many keys that only another experiment uses
        crowd = store.create_experiment("cols-crowd").experiment_id
        new_run(store, crowd, params={f"c{j:02d}": "1" for j in range(30)})
        check()
        both = store.run_columns([wide, other])
        assert both.params == sorted([*common, "o1", "o2", "rare"])

    # -- search ----------------------------------------------------------------------------------
    @pytest.fixture
    def populated(self, store: TrackingStore, experiment_id: str) -> dict[str, str]:
        runs = {}
        specs = [
            ("xgb-1", "xgb", 0.95, "dev", 6),
            ("xgb-2", "xgb", 0.85, "prod", 3),
            ("rf-1", "rf", 0.91, "dev", 12),
            ("lr-1", "lr", 0.70, None, None),
        ]
        for index, (name, model, auc, stage, depth) in enumerate(specs):
            params: dict[str, Any] = {"model": model}
            if depth is not None:
                params["depth"] = depth
            tags = {"stage": stage} if stage else {}
            run_id = store.create_run(
                experiment_id, name=name, start_time=1000 + index, tags=tags, params=params
            ).info.run_id
            store.log_metrics([(run_id, "auc", auc, 1, 0)])
            runs[name] = run_id
        store.update_run(runs["lr-1"], status="FAILED", end_time=2000)
        return runs

    def _names(
        self, store: TrackingStore, experiment_id: str, flt: str | None, order: Any = None
    ) -> list[str]:
        return [r.info.name for r in store.search_runs([experiment_id], flt, order)]

    @pytest.mark.parametrize(
        ("flt", "expected"),
        [
            ("metrics.auc > 0.9", {"xgb-1", "rf-1"}),
            ("metrics.auc >= 0.91 and params.model = 'xgb'", {"xgb-1"}),
            (
                "metrics.auc > 0.9 and (params.model = 'xgb' or tags.stage IN ('dev','prod'))",
                {"xgb-1", "rf-1"},
            ),
            ("params.model != 'xgb'", {"rf-1", "lr-1"}),
            ("params.model IN ('rf', 'lr')", {"rf-1", "lr-1"}),
            ("params.model NOT IN ('rf', 'lr')", {"xgb-1", "xgb-2"}),
            ("params.depth > 5", {"xgb-1", "rf-1"}),
            ("params.depth = 3", {"xgb-2"}),
            ("params.depth IS NULL", {"lr-1"}),
            ("tags.stage IS NOT NULL", {"xgb-1", "xgb-2", "rf-1"}),
            ("tags.stage IS NULL", {"lr-1"}),
            ("attributes.run_name LIKE 'xgb-%'", {"xgb-1", "xgb-2"}),
            ("attributes.run_name LIKE 'XGB-%'", set()),
            ("attributes.run_name ILIKE 'XGB-%'", {"xgb-1", "xgb-2"}),
            ("attributes.status = 'FAILED'", {"lr-1"}),
            ("attributes.status != 'FAILED'", {"xgb-1", "xgb-2", "rf-1"}),
            ("NOT metrics.auc > 0.9", {"xgb-2", "lr-1"}),
            ("not (params.model = 'xgb' or params.model = 'rf')", {"lr-1"}),
            ("metrics.missing > 0", set()),
            ("attributes.start_time >= 1002", {"rf-1", "lr-1"}),
            ("params.model LIKE 'x%' AND NOT tags.stage = 'prod'", {"xgb-1"}),
            ("metrics.`auc` < 0.8", {"lr-1"}),
            ('tags."stage" = "dev"', {"xgb-1", "rf-1"}),
        ],
    )
    def test_search_filters(
        self,
        store: TrackingStore,
        experiment_id: str,
        populated: dict[str, str],
        flt: str,
        expected: set[str],
    ) -> None:
        assert set(self._names(store, experiment_id, flt)) == expected

    def test_search_order_by(
        self, store: TrackingStore, experiment_id: str, populated: dict[str, str]
    ) -> None:
        assert self._names(store, experiment_id, None, ["metrics.auc DESC"]) == [
            "xgb-1",
            "rf-1",
            "xgb-2",
            "lr-1",
        ]
        assert self._names(store, experiment_id, None, ["metrics.auc"]) == [
            "lr-1",
            "xgb-2",
            "rf-1",
            "xgb-1",
        ]
        # missing values sort last in both directions; numbers compare as numbers
        assert self._names(store, experiment_id, None, ["params.depth DESC"]) == [
            "rf-1",
            "xgb-1",
            "xgb-2",
            "lr-1",
        ]
        assert self._names(store, experiment_id, None, ["params.depth ASC"]) == [
            "xgb-2",
            "xgb-1",
            "rf-1",
            "lr-1",
        ]
        assert self._names(store, experiment_id, None, None) == [  # newest first by default
            "lr-1",
            "rf-1",
            "xgb-2",
            "xgb-1",
        ]
        assert self._names(store, experiment_id, None, ["params.model", "metrics.auc DESC"]) == [
            "lr-1",
            "rf-1",
            "xgb-1",
            "xgb-2",
        ]

    def test_search_pages(
        self, store: TrackingStore, experiment_id: str, populated: dict[str, str]
    ) -> None:
        seen: list[str] = []
        token = None
        while True:
            page = store.search_runs(
                [experiment_id], order_by=["metrics.auc DESC"], max_results=3, page_token=token
            )
            seen.extend(r.info.name for r in page)
            token = page.next_page_token
            if token is None:
                break
        assert seen == ["xgb-1", "rf-1", "xgb-2", "lr-1"]
        with pytest.raises(InvalidInputError, match="page token"):
            store.search_runs([experiment_id], page_token="garbage!")
        with pytest.raises(InvalidInputError, match="max_results"):
            store.search_runs([experiment_id], max_results=0)

    def test_search_returns_full_runs(
        self, store: TrackingStore, experiment_id: str, populated: dict[str, str]
    ) -> None:
        (run,) = store.search_runs([experiment_id], "attributes.run_name = 'xgb-1'")
        assert run.data.params == {"model": "xgb", "depth": "6"}
        assert run.data.metrics == {"auc": 0.95}
        assert run.data.tags == {"stage": "dev"}

    def test_search_across_experiments(self, store: TrackingStore) -> None:
        a = store.create_experiment("a").experiment_id
        b = store.create_experiment("b").experiment_id
        new_run(store, a, name="in-a")
        new_run(store, b, name="in-b")
        assert {r.info.name for r in store.search_runs([a, b])} == {"in-a", "in-b"}
        assert {r.info.name for r in store.search_runs([])} == {"in-a", "in-b"}
        store.delete_experiment(b)
        assert {r.info.name for r in store.search_runs([])} == {"in-a"}

    @pytest.mark.parametrize(
        ("flt", "column"),
        [
            ("metrics.auc >", 14),
            ("metrics.auc > 'high'", 15),
            ("auc > 0.5", 1),
            ("metrics.auc > 0.5 and", 22),
            ("params.x = 'a' or or", 19),
            ("(metrics.auc > 0.5", 19),
            ("attributes.colour = 'red'", 1),
            ("attributes.status = 'DONE'", 21),
            ("metrics.auc LIKE '%1'", 18),
            ("metrics.auc IN (1, 'a')", 16),
            ("params.a = 'x' params.b = 'y'", 16),
            ("params.a ~ 'x'", 10),
        ],
    )
    def test_malformed_filters_point_at_the_column(
        self, store: TrackingStore, experiment_id: str, flt: str, column: int
    ) -> None:
        with pytest.raises(InvalidInputError, match=f"column {column}\\b"):
            store.search_runs([experiment_id], flt)

    def test_filter_values_are_bound_not_spliced(
        self, store: TrackingStore, experiment_id: str, populated: dict[str, str]
    ) -> None:
        evil = "x' OR '1'='1"
        assert (
            self._names(
                store, experiment_id, f"params.model = '{evil.replace(chr(39), chr(39) * 2)}'"
            )
            == []
        )
        assert self._names(store, experiment_id, "tags.`stage' OR 1=1 --` = 'dev'") == []

    # -- artifact index --------------------------------------------------------------------------
    def test_artifact_records(self, store: TrackingStore, experiment_id: str) -> None:
        run_id = new_run(store, experiment_id)
        store.record_artifacts(
            run_id,
            [
                FileInfo(path="model/model.pkl", size=3, sha256="a" * 64),
                FileInfo(path="model/MLmodel", size=4, sha256="b" * 64),
                FileInfo(path="model_card.md", size=5, sha256="c" * 64),
            ],
        )
        assert sorted(store.artifact_records(run_id, "model")) == [
            "model/MLmodel",
            "model/model.pkl",
        ]
        assert len(store.artifact_records(run_id)) == 3
        assert store.artifact_records(run_id, "model_card.md")["model_card.md"].sha256 == "c" * 64
        # LIKE wildcards in a prefix are literal characters
        store.record_artifacts(
            run_id,
            [
                FileInfo(path="a_b/x", size=1, sha256="d" * 64),
                FileInfo(path="aXb/y", size=1, sha256="e" * 64),
                FileInfo(path="100%/z", size=1, sha256="f" * 64),
                FileInfo(path="1000/w", size=1, sha256="f" * 64),
            ],
        )
        assert list(store.artifact_records(run_id, "a_b")) == ["a_b/x"]
        assert list(store.artifact_records(run_id, "100%")) == ["100%/z"]

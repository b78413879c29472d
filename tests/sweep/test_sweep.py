"""Sweeps: W&B configs, grid/random/bayes/optuna, early termination, executors, agents,
resuming a killed sweep, and the CLI."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import mlcore
from mlcore.cli import main
from mlcore.errors import InvalidInputError
from mlcore.sweep import Sweep, parse_config
from mlcore.tracking import Tracker

pytest.importorskip("optuna")

BRANIN = {
    "method": "bayes",
    "metric": {"name": "loss", "goal": "minimize"},
    "parameters": {"x": {"min": -5.0, "max": 10.0}, "y": {"min": 0.0, "max": 15.0}},
}


def branin() -> None:
    x, y = mlcore.config.x, mlcore.config.y
    value = (y - 5.1 / (4 * math.pi**2) * x**2 + 5 / math.pi * x - 6) ** 2
    mlcore.log({"loss": value + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x) + 10})


@pytest.fixture
def tracker(tmp_path: Path) -> Any:
    with Tracker(str(tmp_path / "store")) as t:
        yield t


@pytest.mark.parametrize(
    ("config", "says"),
    [
        ({"method": "annealing", "parameters": {"a": {"values": [1]}}}, "method"),
        ({"method": "random", "parameters": {"a": {"distribution": "beta", "min": 0, "max": 1}}},
         "parameters.a.distribution: unknown distribution 'beta'"),
        ({"method": "random", "parameters": {"a": {"min": 2.0, "max": 1.0}}},
         "parameters.a.min: min (2) is greater than max (1)"),
        ({"method": "random", "parameters": {"a": {"values": []}}}, "parameters.a.values"),
        ({"method": "random", "parameters": {"a": {"value": 1, "mean": 2}}}, "parameters.a.mean"),
        ({"method": "random", "paramters": {}}, "unknown key(s) ['paramters']"),
        ({"method": "bayes", "parameters": {"a": {"values": [1]}}}, "needs a metric"),
        ({"method": "grid", "parameters": {"a": {"min": 0.0, "max": 1.0}}}, "grid search needs"),
        ({"method": "random", "metric": {"name": "m"}, "parameters": {"a": {"values": [1]}},
          "early_terminate": {"type": "hyperband", "eta": 3}}, "min_iter or max_iter"),
        ({"method": "random", "parameters": {"a": {"distribution": "log_uniform_values", "min": 0, "max": 1}}},
         "needs min > 0"),
        ({"method": "optuna", "metric": "m", "parameters": {"a": {"values": [1]}},
          "optuna": {"sampler": "Annealer"}}, "optuna.sampler"),
    ],
)  # fmt: skip
def test_bad_configs_name_the_bad_key(config: dict[str, Any], says: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_config(config)
    assert says in str(info.value)


def test_every_distribution_draws_inside_its_bounds(tracker: Tracker) -> None:
    config = {
        "method": "random",
        "seed": 3,
        "parameters": {
            "c": {"value": "k"},
            "cat": {"values": ["a", "b"]},
            "i": {"distribution": "int_uniform", "min": 2, "max": 4},
            "u": {"distribution": "uniform", "min": -1, "max": 1},
            "qu": {"distribution": "q_uniform", "min": 0, "max": 10, "q": 2},
            "lu": {"distribution": "log_uniform", "min": -2, "max": 0},
            "luv": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
            "qluv": {"distribution": "q_log_uniform_values", "min": 1, "max": 256, "q": 1},
            "n": {"distribution": "normal", "mu": 5, "sigma": 0.1},
            "qn": {"distribution": "q_normal", "mu": 5, "sigma": 2, "q": 1},
            "ln": {"distribution": "log_normal", "mu": 0, "sigma": 0.1},
        },
    }
    seen: list[dict[str, Any]] = []
    sweep = mlcore.sweep(config, lambda cfg: seen.append(cfg.as_dict()), count=25, tracker=tracker)
    assert len(seen) == 25
    for values in seen:
        assert values["c"] == "k" and values["cat"] in ("a", "b") and values["i"] in (2, 3, 4)
        assert -1 <= values["u"] <= 1 and values["qu"] % 2 == 0
        assert math.exp(-2) <= values["lu"] <= 1 and 1e-4 <= values["luv"] <= 0.1
        assert float(values["qluv"]).is_integer() and float(values["qn"]).is_integer()
        assert 4 < values["n"] < 6 and values["ln"] > 0
    table = sweep.runs_table()
    assert table.num_rows == 25 and set(table.column("status").to_pylist()) == {"FINISHED"}


def test_grid_is_exhaustive_and_deduplicated(tracker: Tracker) -> None:
    config = {"method": "grid", "parameters": {"a": {"values": [1, 2, 2]}, "b": {"values": ["x", "y"]},
                                               "k": {"value": 7}}}  # fmt: skip
    sweep = mlcore.sweep(config, lambda: mlcore.log({"m": mlcore.config.a}), tracker=tracker)
    combos = sorted((r.data.params["a"], r.data.params["b"]) for r in sweep.runs)
    assert combos == [("1", "x"), ("1", "y"), ("2", "x"), ("2", "y")]
    assert {r.data.params["k"] for r in sweep.runs} == {"7"}
    assert all(r.data.tags["mlcore.sweep.id"] == sweep.id for r in sweep.runs)
    assert tracker.get_run(sweep.id).info.status.value == "FINISHED"
    again = Sweep.load(sweep.id, tracker=tracker).run(lambda: None)  # nothing left to run
    assert len(again.runs) == 4


def test_bayes_finds_a_good_branin_point_and_reports(tracker: Tracker) -> None:
    sweep = mlcore.sweep({**BRANIN, "seed": 0}, branin, count=25, tracker=tracker)
    table = sweep.runs_table().to_pylist()
    best = sweep.best_run
    assert best is not None
    assert best.data.metrics["loss"] == min(r["loss"] for r in table)
    assert all(-5 <= r["x"] <= 10 and 0 <= r["y"] <= 15 for r in table)
    importance = sweep.importance()
    assert set(importance) == {"x", "y"} and sum(importance.values()) == pytest.approx(1.0)
    files = [f.path for f in tracker.list_artifacts(sweep.id)]
    assert "parallel_coordinates.png" in files and "sweep.json" in files
    assert tracker.get_run(sweep.id).data.tags["mlcore.sweep.best_run"] == best.info.run_id


@pytest.mark.parametrize("sampler", ["CmaEsSampler", "NSGAIISampler", "QMCSampler"])
def test_optuna_method_with_a_named_sampler(tracker: Tracker, sampler: str) -> None:
    config = {**BRANIN, "method": "optuna", "optuna": {"sampler": sampler}, "run_cap": 8}
    sweep = mlcore.sweep(config, branin, tracker=tracker)
    assert len(sweep.runs) == 8 and sweep.best_run is not None


def test_a_trial_that_raises_fails_and_the_sweep_goes_on(tracker: Tracker) -> None:
    def train() -> None:
        if mlcore.config.a == 2:
            raise RuntimeError("diverged")
        mlcore.log({"m": 1.0})

    sweep = mlcore.sweep({"method": "grid", "parameters": {"a": {"values": [1, 2, 3]}}}, train,
                         tracker=tracker)  # fmt: skip
    status = {r.data.params["a"]: r for r in sweep.runs}
    assert status["2"].info.status.value == "FAILED"
    assert status["2"].data.tags["mlcore.sweep.error"] == "RuntimeError: diverged"
    assert status["1"].info.status.value == status["3"].info.status.value == "FINISHED"


def curve() -> None:
    """A learning curve: the final accuracy is lr; every epoch reaches a share of it."""
    for epoch in range(1, 28):
        mlcore.log({"acc": mlcore.config.lr * epoch / 27})


def test_hyperband_stops_bad_trials_early(tracker: Tracker) -> None:
    config = {
        "method": "random", "seed": 1, "metric": {"name": "acc", "goal": "maximize"},
        "parameters": {"lr": {"min": 0.0, "max": 1.0}},
        "early_terminate": {"type": "hyperband", "min_iter": 3, "eta": 3},
    }  # fmt: skip
    stopped = mlcore.sweep(config, curve, count=18, tracker=tracker)
    full = mlcore.sweep({k: v for k, v in config.items() if k != "early_terminate"}, curve,
                        count=18, tracker=tracker)  # fmt: skip
    killed = [r for r in stopped.runs if r.info.status.value == "KILLED"]
    assert killed and all("hyperband" in r.data.tags["mlcore.sweep.stopped"] for r in killed)
    epochs = sum(len(tracker.metric_history(r.info.run_id, "acc")) for r in stopped.runs)
    assert epochs < 0.7 * 18 * 27  # stopped trials did not train to the end
    # the same 18 draws (same seed), and the best one was never stopped
    best_stopped, best_full = stopped.best_run, full.best_run
    assert best_stopped.data.params["lr"] == best_full.data.params["lr"]
    assert best_stopped.info.status.value == "FINISHED"


def pid_trial() -> None:
    if mlcore.config.a == 3:
        os._exit(7)  # the trial's process dies
    mlcore.log({"pid": float(os.getpid())})


def test_process_executor_runs_trials_in_other_processes_and_survives_a_dead_one(
    tracker: Tracker,
) -> None:
    config = {"method": "grid", "parameters": {"a": {"values": [1, 2, 3, 4]}}}
    sweep = mlcore.sweep(config, pid_trial, parallelism=2, executor="process", tracker=tracker)
    runs = {r.data.params["a"]: r for r in sweep.runs}
    assert runs["3"].info.status.value == "FAILED"
    assert "mlcore.sweep.error" in runs["3"].data.tags
    pids = {runs[a].data.metrics["pid"] for a in ("1", "2", "4")}
    assert os.getpid() not in pids
    assert all(runs[a].info.status.value == "FINISHED" for a in ("1", "2", "4"))


def run_agents(sweep: Sweep, function: Any, agents: int) -> None:
    """``agents`` threads, each with its own tracker, run the sweep until it is done."""

    def agent() -> None:
        with Tracker(sweep.tracker.tracking_uri) as own:
            Sweep.load(sweep.id, tracker=own).run(function)

    threads = [threading.Thread(target=agent) for _ in range(agents)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_two_agents_share_a_sweep_without_running_a_trial_twice(tracker: Tracker) -> None:
    config = {"method": "grid", "parameters": {"a": {"values": list(range(12))}}}
    sweep = Sweep.create(config, tracker=tracker)

    def slow() -> None:
        time.sleep(0.02)
        mlcore.log({"m": float(mlcore.config.a)})

    run_agents(sweep, slow, 3)
    runs = sweep.runs
    assert Counter(r.data.params["a"] for r in runs) == Counter(str(i) for i in range(12))
    assert all(r.info.status.value == "FINISHED" for r in runs)


def test_agents_share_a_bayes_sweep_up_to_its_run_cap(tracker: Tracker) -> None:
    sweep = Sweep.create({**BRANIN, "run_cap": 10}, tracker=tracker)
    run_agents(sweep, branin, 2)
    runs = sweep.runs
    assert sorted(int(r.data.tags["mlcore.sweep.trial"]) for r in runs) == list(range(10))
    assert all(r.info.status.value == "FINISHED" for r in runs)
    assert len({(r.data.params["x"], r.data.params["y"]) for r in runs}) == 10
    swept = tracker.get_run(sweep.id)
    assert swept.info.status.value == "FINISHED"  # the run cap is reached
    assert not [k for k in swept.data.params if not k.startswith("mlcore.rung.")]


def test_a_sweep_goes_on_past_a_deleted_trial(tracker: Tracker) -> None:
    config = {"method": "grid", "parameters": {"a": {"values": [0, 1, 2, 3]}}}
    sweep = mlcore.sweep(config, lambda: mlcore.log({"m": 1.0}), count=2, tracker=tracker)
    deleted = sweep.runs[-1]
    tracker.delete_run(deleted.info.run_id)  # its number stays taken: its run id exists
    again = Sweep.load(sweep.id, tracker=tracker).run(lambda: mlcore.log({"m": 2.0}))
    runs = again.runs
    assert [r.data.tags["mlcore.sweep.trial"] for r in runs] == ["0", "2", "3"]
    assert [r.data.params["a"] for r in runs] == ["0", "2", "3"]
    assert all(r.info.status.value == "FINISHED" for r in runs)


def test_a_killed_sweep_resumes_without_lost_or_duplicated_trials(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    env = {**os.environ, "MLCORE_TRACKING_URI": store, "MLCORE_HEARTBEAT_INTERVAL": "0.2",
           "MLCORE_HEARTBEAT_TIMEOUT": "1.5"}  # fmt: skip
    script = textwrap.dedent(
        """
        import sys, time, mlcore
        from mlcore.sweep import Sweep
        def train():
            time.sleep(0.3 if mlcore.config.a < 2 else 60)
            mlcore.log({"m": float(mlcore.config.a)})
        sweep = Sweep.create({"method": "grid", "parameters": {"a": {"values": [0, 1, 2, 3, 4, 5]}}},
                             tracker=mlcore.get_tracker())
        print(sweep.id, flush=True)
        sweep.run(train, parallelism=2)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    sweep_id = proc.stdout.readline().strip()
    deadline = time.monotonic() + 60
    with Tracker(store) as tracker:
        while time.monotonic() < deadline:  # wait until trials 2 and 3 are running
            running = [r for r in Sweep.load(sweep_id, tracker=tracker).runs
                       if r.info.status.value == "RUNNING"]  # fmt: skip
            if len(running) == 2 and all(int(r.data.params["a"]) >= 2 for r in running):
                break
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        time.sleep(2.0)  # the dead agent's heartbeat goes stale
        os.environ["MLCORE_HEARTBEAT_TIMEOUT"] = "1.5"
        try:
            sweep = Sweep.load(sweep_id, tracker=tracker)
            sweep.run(lambda: mlcore.log({"m": float(mlcore.config.a)}))
        finally:
            del os.environ["MLCORE_HEARTBEAT_TIMEOUT"]
        runs = sweep.runs
    finished = Counter(r.data.params["a"] for r in runs if r.info.status.value == "FINISHED")
    assert finished == Counter(str(a) for a in range(6))  # each point once, none lost
    requeued = [r for r in runs if "mlcore.sweep.requeued" in r.data.tags]
    assert {r.data.params["a"] for r in requeued} == {"2", "3"}
    assert all(r.info.status.value == "KILLED" for r in requeued)


def test_sweep_yaml_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "train.py").write_text(
        "import mlcore\nwith mlcore.start_run():\n    mlcore.log({'score': mlcore.config.lr * 2})\n"
    )
    (tmp_path / "sweep.yaml").write_text(
        "program: train.py\nmethod: grid\nmetric: {name: score, goal: maximize}\n"
        "parameters:\n  lr: {values: [0.1, 0.2, 0.3]}\n"
    )
    store = str(tmp_path / "store")
    assert main(["-u", store, "--json", "sweep", str(tmp_path / "sweep.yaml")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [t["lr"] for t in report["trials"]] == [0.1, 0.2, 0.3]
    assert [t["score"] for t in report["trials"]] == pytest.approx([0.2, 0.4, 0.6])
    best = report["best_run"]
    assert main(["-u", store, "sweep", "show", report["id"]]) == 0
    shown = capsys.readouterr().out
    assert best in shown
    assert f"parallel coordinates: artifact parallel_coordinates.png of run {report['id']}" in shown
    assert main(["-u", store, "sweep", "show"]) == 1


def test_agents_and_resume_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "train.py").write_text(
        "import mlcore\nwith mlcore.start_run():\n    mlcore.log({'score': mlcore.config.lr})\n"
    )
    (tmp_path / "sweep.yaml").write_text(
        "program: train.py\nmethod: grid\nmetric: {name: score, goal: maximize}\n"
        "parameters:\n  lr: {values: [0.1, 0.2, 0.3, 0.4]}\n"
    )
    monkeypatch.chdir(tmp_path)  # an agent finds the program where it runs, as W&B's does
    store = str(tmp_path / "store")
    assert main(["-u", store, "--json", "sweep", "sweep.yaml", "--count", "1"]) == 0
    sweep_id = json.loads(capsys.readouterr().out)["id"]
    assert main(["-u", store, "--json", "agent", sweep_id, "--count", "2"]) == 0
    assert len(json.loads(capsys.readouterr().out)["trials"]) == 3
    assert main(["-u", store, "--json", "sweep", "resume", sweep_id]) == 0
    report = json.loads(capsys.readouterr().out)
    assert sorted(t["lr"] for t in report["trials"]) == [0.1, 0.2, 0.3, 0.4]
    assert all(t["status"] == "FINISHED" for t in report["trials"])
    with Tracker(store) as tracker:
        assert tracker.get_run(sweep_id).info.status.value == "FINISHED"  # the grid is done
        assert tracker.get_run(sweep_id).data.tags["mlcore.sweep.best_run"] == report["best_run"]

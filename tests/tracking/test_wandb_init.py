"""W&B code runs with ``import mlcore as wandb`` (issue 20): init, log's step/commit rules,
summary and define_metric, finish, resume, reinit, fork_from, disabled mode, save."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mlcore
import mlcore as wandb
from mlcore.errors import AlreadyExistsError, InvalidInputError, NotFoundError


@pytest.fixture(autouse=True)
def _store(tmp_path: Path) -> None:
    mlcore.set_tracking_uri(str(tmp_path / "store"))


def _steps(run_id: str, key: str) -> list[int]:
    return mlcore.metric_history(run_id, key).column("step").to_pylist()


def _values(run_id: str, key: str) -> list[float]:
    return mlcore.metric_history(run_id, key).column("value").to_pylist()


# -- the seed documents' W&B code -----------------------------------------------------------------


def test_seed_best_practices_init_log_and_search() -> None:
    wandb.init(
        project="credit-scoring",
        entity="my-team",
        name="xgboost-exp-001",
        tags=["production", "xgboost", "v2"],
        notes="Testing new feature engineering approach",
    )
    for epoch in range(3):
        wandb.log({"epoch": epoch, "train_loss": 1.0 / (epoch + 1), "val_accuracy": 0.8})
    run = wandb.run
    assert run is not None
    wandb.finish()
    stored = mlcore.get_run(run.id)
    assert stored.info.name == "xgboost-exp-001"
    assert mlcore.get_tracker().get_experiment(stored.info.experiment_id).name == "credit-scoring"
    assert stored.data.tags["mlcore.entity"] == "my-team"
    assert stored.data.tags["mlcore.note"] == "Testing new feature engineering approach"
    assert {"production", "xgboost", "v2"} <= set(stored.data.tags)
    assert _steps(run.id, "train_loss") == [0, 1, 2]
    found = mlcore.search_runs(filter="tags.mlcore.entity = 'my-team'", output_format="list")
    assert [r.info.run_id for r in found] == [run.id]


def test_seed_team_collaboration_takes_team_as_the_entity() -> None:
    with wandb.init(project="team-experiments", team="research-group", notes="Reproducing"):
        wandb.log({"accuracy": 0.92, "loss": 0.08})
        run = wandb.run
        assert run is not None and run.entity == "research-group"
    assert mlcore.get_run(run.id).data.metrics == {"accuracy": 0.92, "loss": 0.08}


def test_seed_artifacts_two_jobs_with_entity_and_job_type(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "processed.csv").write_text("a,b\n1,2\n")
    with wandb.init(entity="my-team", project="ml-pipeline", job_type="process-data") as first:
        processed = wandb.Artifact(name="processed-dataset", type="dataset")
        processed.add_file(str(data / "processed.csv"))
        wandb.log_artifact(processed)
    with wandb.init(entity="my-team", project="ml-pipeline", job_type="train") as second:
        artifact = wandb.use_artifact("processed-dataset:v0")
        local = artifact.download()
        assert (Path(local) / "processed.csv").read_text() == "a,b\n1,2\n"
    jobs = {
        r.data.tags["mlcore.job_type"]: r.info.run_id
        for r in mlcore.search_runs(
            experiments=["ml-pipeline"],
            filter="tags.mlcore.entity = 'my-team'",
            output_format="list",
        )
    }
    assert jobs == {"process-data": first.id, "train": second.id}


def test_seed_production_config_from_init() -> None:
    with wandb.init(
        project="production-ml",
        name="experiment-7",
        tags=["production", "xgb"],
        config={"learning_rate": 0.05, "model_type": "xgb"},
    ) as run:
        assert wandb.config.learning_rate == 0.05
        wandb.log_metrics({"auc": 0.9})
    assert mlcore.get_run(run.id).data.params["learning_rate"] == "0.05"


# -- group and job type ----------------------------------------------------------------------------


def test_group_and_job_type_are_searchable_run_fields() -> None:
    ids = {}
    for group, job in [("cv-1", "train"), ("cv-1", "eval"), ("cv-2", "train")]:
        with wandb.init(project="grouping", group=group, job_type=job) as run:
            assert (run.group, run.job_type) == (group, job)
            ids[(group, job)] = run.id
    found = mlcore.search_runs(
        experiments=["grouping"], filter="tags.mlcore.group = 'cv-1'", output_format="list"
    )
    assert {r.info.run_id for r in found} == {ids[("cv-1", "train")], ids[("cv-1", "eval")]}
    table = mlcore.search_runs(experiments=["grouping"], output_format="pandas")
    assert sorted(table["tags.mlcore.group"]) == ["cv-1", "cv-1", "cv-2"]


# -- log: W&B's step and commit rules --------------------------------------------------------------


def test_commit_false_accumulates_into_one_step_keeping_the_last_value() -> None:
    with wandb.init() as run:
        run.log({"loss": 0.5}, commit=False)
        run.log({"loss": 0.4}, commit=False)  # the same step: the last value wins
        run.log({"acc": 0.8})
        run.log({"loss": 0.3})
    assert _steps(run.id, "loss") == [0, 1] and _values(run.id, "loss") == [0.4, 0.3]
    assert _steps(run.id, "acc") == [0]


def test_explicit_steps_join_until_a_later_step_or_commit() -> None:
    with wandb.init() as run:
        run.log({"a": 1.0}, step=5)
        run.log({"b": 2.0}, step=5)
        run.log({"c": 3.0}, step=5, commit=True)
        run.log({"d": 4.0})  # step 6
        run.log({"e": 5.0}, step=9)  # left open...
    # ...and stored when the run ends
    assert {k: _steps(run.id, k) for k in "abcde"} == {
        "a": [5],
        "b": [5],
        "c": [5],
        "d": [6],
        "e": [9],
    }
    assert run.step == 9


def test_an_earlier_step_is_stored_not_dropped() -> None:
    with wandb.init() as run:
        run.log({"x": 1.0}, step=10)
        run.log({"x": 0.5}, step=3)  # W&B drops this; mlcore keeps it at step 3
        assert run.step == 10
    assert _steps(run.id, "x") == [3, 10]


def test_a_bad_value_logs_nothing_of_the_call() -> None:
    with wandb.init() as run:
        with pytest.raises(InvalidInputError):
            run.log({"ok": 1.0, "bad": "text"})
        assert run.step == 0
    assert mlcore.get_run(run.id).data.metrics == {}


# -- summary and define_metric ---------------------------------------------------------------------


def test_summary_is_the_last_value_then_aggregates_and_values_set_by_hand() -> None:
    with wandb.init(project="summary") as run:
        run.define_metric("val/loss", summary="min")
        run.define_metric("acc*", step_metric="epoch", summary="max,mean")
        for epoch, (loss, acc) in enumerate([(0.5, 0.7), (0.2, 0.9), (0.4, 0.8)]):
            run.log({"epoch": epoch, "val/loss": loss, "acc": acc})
        assert run.summary["epoch"] == 2
        assert run.summary["val/loss"] == {"min": 0.2}
        assert run.summary["acc"] == {"max": 0.9, "mean": pytest.approx(0.8)}
        wandb.summary["best_model"] = "epoch-1"
        run.summary.update({"test_acc": 0.88})
    tags = mlcore.get_run(run.id).data.tags
    assert json.loads(tags["mlcore.define_metric"])["acc*"]["step_metric"] == "epoch"
    from mlcore.tracking.summary import stored_summary

    stored = mlcore.get_run(run.id)
    summary = stored_summary(stored.data.tags, stored.data.metrics)
    assert summary["val/loss"] == {"min": 0.2}
    assert summary["best_model"] == "epoch-1" and summary["test_acc"] == 0.88
    with pytest.raises(InvalidInputError):
        wandb.init(project="summary").define_metric("x", summary="median")
    wandb.finish()


# -- finish, reinit, resume ------------------------------------------------------------------------


def test_finish_with_a_non_zero_exit_code_fails_the_run() -> None:
    run = wandb.init()
    wandb.finish(exit_code=1)
    assert mlcore.get_run(run.id).info.status.value == "FAILED"
    assert wandb.run is None
    second = wandb.init()
    second.finish()
    assert mlcore.get_run(second.id).info.status.value == "FINISHED"


def test_a_second_init_finishes_the_first_unless_reinit_says_otherwise() -> None:
    first = wandb.init()
    first.log({"x": 1.0})
    second = wandb.init()  # the first is finished, with its point stored
    assert first.ended and wandb.run is second
    assert mlcore.get_run(first.id).info.status.value == "FINISHED"
    assert wandb.init(reinit="return_previous") is second
    side = wandb.init(reinit="create_new")
    assert wandb.run is second and side is not second
    side.log({"y": 2.0})
    side.finish()
    second.finish()
    assert mlcore.get_run(side.id).data.metrics == {"y": 2.0}
    with pytest.raises(InvalidInputError):
        wandb.init(reinit="sometimes")


def test_resume_by_id_continues_history_after_its_last_step() -> None:
    with wandb.init(project="resume", id="run-42", config={"lr": 0.1}) as run:
        run.log({"loss": 1.0})
        run.log({"loss": 0.8})
    with pytest.raises(AlreadyExistsError):
        wandb.init(project="resume", id="run-42")  # resume not asked: refused
    with wandb.init(project="resume", id="run-42", resume="must") as again:
        assert again.id == run.id and again.resumed and again.config.lr == 0.1
        again.log({"loss": 0.6})
    assert _steps(run.id, "loss") == [0, 1, 2]
    assert mlcore.get_run(run.id).data.tags["mlcore.wandb_id"] == "run-42"
    with pytest.raises(NotFoundError):
        wandb.init(project="resume", id="never-seen", resume="must")
    with wandb.init(project="resume", id="fresh", resume="allow") as fresh:
        assert not fresh.resumed
    with pytest.raises(AlreadyExistsError):
        wandb.init(project="resume", id="fresh", resume="never")


def test_fork_from_copies_the_parents_history_up_to_the_step() -> None:
    with wandb.init(project="fork", config={"lr": 0.1}) as parent:
        for i in range(10):
            parent.log({"loss": 10.0 - i})
    with wandb.init(project="fork", fork_from=f"{parent.id}?_step=4") as child:
        assert child.step == 5 and child.config.lr == 0.1
        child.log({"loss": 0.5})
    assert _steps(child.id, "loss") == [0, 1, 2, 3, 4, 5]
    assert _values(child.id, "loss") == [10.0, 9.0, 8.0, 7.0, 6.0, 0.5]
    assert _steps(parent.id, "loss") == list(range(10))  # the parent is untouched
    assert mlcore.get_run(child.id).data.tags["mlcore.fork_from"] == f"{parent.id}?_step=4"
    with pytest.raises(InvalidInputError):
        wandb.init(fork_from=parent.id)  # no step
    with pytest.raises(InvalidInputError):
        wandb.init(fork_from=f"{parent.id}?_step=1", resume="allow")


# -- modes -----------------------------------------------------------------------------------------


def test_disabled_mode_stores_nothing(tmp_path: Path) -> None:
    mlcore.set_tracking_uri(str(tmp_path / "never"))
    run = wandb.init(mode="disabled", config={"lr": 0.1})
    wandb.log({"x": 1.0})
    wandb.log_metric("y", 2.0)
    wandb.define_metric("x", summary="min")
    assert wandb.config.lr == 0.1 and wandb.save("*.txt") == []
    run.summary["best"] = 1
    wandb.flush()
    wandb.finish()
    assert wandb.run is None
    assert not (tmp_path / "never").exists()


def test_offline_mode_uses_the_local_store_when_the_uri_is_a_server(tmp_path: Path) -> None:
    mlcore.set_tracking_uri("http://127.0.0.1:9")  # nothing listens there
    with wandb.init(project="offline", mode="offline", dir=str(tmp_path)) as run:
        run.log({"x": 1.0})
    local = mlcore.Tracker(str(tmp_path / ".mlcore"))
    assert local.get_run(run.id).data.metrics == {"x": 1.0}
    local.close()


def test_unknown_init_options_are_a_type_error() -> None:
    with pytest.raises(TypeError, match="colour"):
        wandb.init(colour="red")
    with pytest.raises(InvalidInputError):
        wandb.init(mode="sometimes")


# -- save --------------------------------------------------------------------------------------------


def test_save_now_end_and_live(tmp_path: Path) -> None:
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "model.pt").write_bytes(b"v1")
    (tmp_path / "ckpt" / "a.pt").write_bytes(b"a")
    with wandb.init() as run:
        assert wandb.save("model.pt") == ["model.pt"]
        assert wandb.save("ckpt/*.pt", policy="now") == ["ckpt/a.pt"]
        (tmp_path / "later.txt").write_text("x")
        wandb.save("later.txt", policy="end")
        (tmp_path / "model.pt").write_bytes(b"v2")  # live: stored again at the end
        with pytest.raises(InvalidInputError):
            wandb.save("model.pt", policy="sometimes")
    local = Path(mlcore.get_tracker().download_artifacts(run.id))
    assert (local / "model.pt").read_bytes() == b"v2"
    assert (local / "ckpt" / "a.pt").read_bytes() == b"a"
    assert (local / "later.txt").read_text() == "x"


# -- watch ---------------------------------------------------------------------------------------------


def test_watch_at_top_level_continues_its_counter_when_called_again() -> None:
    torch = pytest.importorskip("torch")
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    def train(batches: int) -> None:
        for _ in range(batches):
            optimizer.zero_grad()
            model(torch.ones(4, 3)).sum().backward()
            optimizer.step()

    with wandb.init(project="watch") as run:
        wandb.watch(model, log="gradients", log_freq=2)
        train(4)
        wandb.watch(model, log="all", log_freq=2)  # again: the step counter goes on
        train(4)
    steps = _steps(run.id, "gradients/weight/norm")
    assert steps == [2, 4, 6, 8]
    local = mlcore.get_tracker().download_artifacts(run.id, "watch/histograms.jsonl")
    kinds = {json.loads(line)["kind"] for line in Path(local).read_text().splitlines()}
    assert kinds == {"gradients", "parameters"}
    with pytest.raises(InvalidInputError):
        wandb.watch(model, log="weights")

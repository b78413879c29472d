"""mlcore.autolog() on real scikit-learn, XGBoost, Lightning and torch training."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import mlcore
from mlcore.autolog import AutologWarning
from mlcore.types import RunStatus


@pytest.fixture(autouse=True)
def home(tmp_path: Path) -> Iterator[None]:
    mlcore.set_tracking_uri(str(tmp_path / "store"))
    yield
    mlcore.autolog(disable=True)


@pytest.fixture(scope="module")
def iris() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    return X, y


def runs() -> list[mlcore.Run]:
    return list(mlcore.get_tracker().search_runs(order_by=["attributes.start_time"]))


def test_sklearn_estimator_opens_and_ends_a_run(iris: tuple[np.ndarray, np.ndarray]) -> None:
    from sklearn.ensemble import RandomForestClassifier

    X, y = iris
    mlcore.autolog()
    model = RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0).fit(X, y)
    (run,) = runs()
    assert run.info.status is RunStatus.FINISHED
    assert run.data.params["n_estimators"] == "10"
    assert run.data.params["max_depth"] == "4"
    assert run.data.metrics["training_accuracy_score"] == pytest.approx(
        float((model.predict(X) == y).mean())
    )
    for name in (
        "training_f1_score",
        "training_precision_score",
        "training_recall_score",
        "training_roc_auc",
        "training_score",
    ):
        assert name in run.data.metrics
    loaded = mlcore.load_model(f"runs:/{run.id}/model")
    assert np.array_equal(loaded.predict(X[:10]), model.predict(X[:10]))


def test_sklearn_regressor_metrics_and_an_active_run(iris: tuple[np.ndarray, np.ndarray]) -> None:
    from sklearn.linear_model import Ridge

    X, _ = iris
    mlcore.autolog()
    with mlcore.start_run(name="mine") as active:
        Ridge(alpha=0.5).fit(X[:, :3], X[:, 3])
    (run,) = runs()
    assert run.id == active.id
    assert run.data.params["alpha"] == "0.5"
    for name in (
        "training_mean_squared_error",
        "training_root_mean_squared_error",
        "training_mean_absolute_error",
        "training_r2_score",
    ):
        assert name in run.data.metrics


def test_pipeline_logs_once_with_step_params(iris: tuple[np.ndarray, np.ndarray]) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = iris
    mlcore.autolog()
    with warnings.catch_warnings():
        warnings.simplefilter("error", AutologWarning)
        make_pipeline(StandardScaler(), LogisticRegression(C=0.3)).fit(X, y)
    (run,) = runs()
    assert run.info.name == "Pipeline"
    assert run.data.params["logisticregression__C"] == "0.3"
    assert run.data.params["estimator_class"] == "sklearn.pipeline.Pipeline"


def test_grid_search_logs_best_params_and_child_runs(iris: tuple[np.ndarray, np.ndarray]) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV

    X, y = iris
    mlcore.autolog()
    search = GridSearchCV(LogisticRegression(max_iter=500), {"C": [0.01, 0.1, 1.0, 10.0]}, cv=3)
    search.fit(X, y)
    parent, *children = runs()
    assert parent.data.params["best_C"] == str(search.best_params_["C"])
    assert parent.data.metrics["best_cv_score"] == pytest.approx(search.best_score_)
    assert len(children) == 4
    assert {c.info.parent_run_id for c in children} == {parent.id}
    by_c = {c.data.params["C"]: c.data.metrics for c in children}
    assert set(by_c) == {"0.01", "0.1", "1.0", "10.0"}
    best = by_c[str(search.best_params_["C"])]
    assert best["rank_test_score"] == 1.0
    assert best["mean_test_score"] == pytest.approx(search.best_score_)
    files = {f.path for f in mlcore.get_tracker().list_artifacts(parent.id)}
    assert files == {"cv_results.csv", "model"}


def test_xgboost_train_logs_every_round(iris: tuple[np.ndarray, np.ndarray]) -> None:
    import xgboost

    X, y = iris
    mlcore.autolog()
    train = xgboost.DMatrix(X, y)
    booster = xgboost.train(
        {"objective": "multi:softprob", "num_class": 3, "nthread": 2, "eval_metric": "mlogloss"},
        train,
        num_boost_round=12,
        evals=[(train, "train")],
        verbose_eval=False,
    )
    (run,) = runs()
    history = mlcore.metric_history(run.id, "train-mlogloss")
    assert history.column("step").to_pylist() == list(range(12))
    assert history.column("value")[11].as_py() < history.column("value")[0].as_py()
    assert run.data.params["num_class"] == "3"
    tracker = mlcore.get_tracker()
    files = {f.path for f in tracker.artifact_store(run.id).walk()}
    assert {
        "feature_importance_weight.json",
        "feature_importance_gain.json",
        "feature_importance_weight.png",
        "model/model.ubj",
    } <= files
    loaded = mlcore.xgboost.load_model(f"runs:/{run.id}/model")
    assert np.allclose(
        loaded.predict(xgboost.DMatrix(X[:5])), booster.predict(xgboost.DMatrix(X[:5]))
    )


def test_xgboost_sklearn_api(iris: tuple[np.ndarray, np.ndarray]) -> None:
    import xgboost

    X, y = iris
    mlcore.autolog()
    model = xgboost.XGBClassifier(n_estimators=6, max_depth=2, n_jobs=2)
    model.fit(X, y, eval_set=[(X, y)], verbose=False)
    (run,) = runs()
    assert run.info.name == "XGBClassifier"
    assert run.data.params["n_estimators"] == "6"
    assert mlcore.metric_history(run.id, "validation_0-mlogloss").num_rows == 6
    native = mlcore.xgboost.load_model(f"runs:/{run.id}/model")
    assert type(native).__name__ == "XGBClassifier"
    assert np.array_equal(native.predict(X[:5]), model.predict(X[:5]))


def test_switches_disable_and_restoring_originals(iris: tuple[np.ndarray, np.ndarray]) -> None:
    from sklearn.ensemble._forest import BaseForest
    from sklearn.linear_model import LogisticRegression

    original = BaseForest.fit
    state = mlcore.autolog(sklearn=False)
    assert state["sklearn"] is False
    LogisticRegression(max_iter=300).fit(*iris)
    assert runs() == []
    mlcore.sklearn.autolog()
    assert BaseForest.fit is not original
    mlcore.autolog(disable=True)
    assert BaseForest.fit is original
    LogisticRegression(max_iter=300).fit(*iris)
    assert runs() == []


def test_a_failing_store_never_breaks_training(
    iris: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sklearn.linear_model import LogisticRegression

    mlcore.autolog()
    tracker = mlcore.get_tracker()

    def broken(*args: object, **kwargs: object) -> None:
        raise mlcore.StoreError("disk full")

    monkeypatch.setattr(tracker.store, "log_params", broken)
    monkeypatch.setattr(tracker, "log_model", broken)
    with pytest.warns(AutologWarning, match="disk full"):
        model = LogisticRegression(max_iter=300).fit(*iris)
    assert model.score(*iris) > 0.9


def test_a_failing_fit_ends_its_run_failed(iris: tuple[np.ndarray, np.ndarray]) -> None:
    from sklearn.linear_model import LogisticRegression

    mlcore.autolog()
    X, y = iris
    with pytest.raises(ValueError):
        LogisticRegression().fit(X, y[:10])
    (run,) = runs()
    assert run.info.status is RunStatus.FAILED
    assert mlcore.active_run() is None


def test_lightning_logs_epochs_hparams_checkpoint_and_model(tmp_path: Path) -> None:
    lightning = pytest.importorskip("lightning")
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    class Regressor(lightning.LightningModule):  # type: ignore[misc,name-defined]
        def __init__(self, lr: float = 0.05, hidden: int = 8) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.net = torch.nn.Sequential(
                torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net(x)

        def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> torch.Tensor:
            x, y = batch
            loss = torch.nn.functional.mse_loss(self(x), y)
            self.log("train_loss", loss, on_epoch=True, on_step=False)
            return loss

        def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> None:
            x, y = batch
            self.log("val_loss", torch.nn.functional.mse_loss(self(x), y))

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

    torch.manual_seed(0)
    X = torch.randn(64, 4)
    loader = DataLoader(TensorDataset(X, X.sum(1, keepdim=True)), batch_size=16)
    mlcore.autolog()
    trainer = lightning.Trainer(
        max_epochs=3,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(tmp_path),
    )
    trainer.fit(Regressor(hidden=6), loader, loader)
    (run,) = runs()
    assert run.data.params["hidden"] == "6"
    assert run.data.params["optimizer_name"] == "SGD"
    for key in ("train_loss", "val_loss"):
        history = mlcore.metric_history(run.id, key)
        assert history.column("step").to_pylist() == [0, 1, 2], key
    assert run.data.metrics["val_loss"] == pytest.approx(
        float(trainer.callback_metrics["val_loss"])
    )
    files = {f.path for f in mlcore.get_tracker().artifact_store(run.id).walk()}
    assert any(f.startswith("checkpoints/") and f.endswith(".ckpt") for f in files)
    model = mlcore.torch.load_model(f"runs:/{run.id}/model")
    with torch.no_grad():
        assert model(X[:3]).shape == (3, 1)


def test_torch_watch_logs_norms_and_histograms() -> None:
    import json

    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
    X = torch.randn(32, 4)
    with mlcore.start_run() as run:
        mlcore.torch.watch(net, log="all", log_freq=3)
        for _ in range(9):
            loss = net(X).pow(2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        mlcore.torch.unwatch(net)
        for _ in range(3):  # no longer watched
            net(X).pow(2).mean().backward()
    grads = mlcore.metric_history(run.id, "gradients/0.weight/norm")
    assert grads.column("step").to_pylist() == [3, 6, 9]
    params = mlcore.metric_history(run.id, "parameters/2.bias/norm")
    assert params.column("step").to_pylist() == [3, 6, 9]
    store = mlcore.get_tracker().artifact_store(run.id)
    lines = store.get_bytes("watch/histograms.jsonl").decode().splitlines()
    first = json.loads(lines[0])
    assert {"step", "kind", "name", "min", "max", "counts"} <= set(first)
    assert sum(first["counts"]) > 0
    with pytest.raises(mlcore.InvalidInputError):
        mlcore.torch.watch(object())
    with pytest.raises(mlcore.InvalidInputError):
        mlcore.torch.watch(net, log_freq=0)


@pytest.mark.parametrize("unwatch_between", [False, True])
def test_torch_watch_called_again_continues_its_steps(unwatch_between: bool) -> None:
    import json

    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    X = torch.randn(16, 4)

    def train(passes: int) -> None:
        for _ in range(passes):
            net.zero_grad()
            net(X).pow(2).mean().backward()

    with mlcore.start_run() as run:
        mlcore.torch.watch(net, log="all", log_freq=2)
        train(4)
        if unwatch_between:
            mlcore.torch.unwatch(net)
        mlcore.torch.watch(net, log="all", log_freq=2)  # e.g. a second training phase
        train(4)
    grads = mlcore.metric_history(run.id, "gradients/0.weight/norm")
    assert grads.column("step").to_pylist() == [2, 4, 6, 8]
    params = mlcore.metric_history(run.id, "parameters/2.bias/norm")
    assert params.column("step").to_pylist() == [2, 4, 6, 8]
    store = mlcore.get_tracker().artifact_store(run.id)
    lines = store.get_bytes("watch/histograms.jsonl").decode().splitlines()
    histograms = [json.loads(line) for line in lines]
    for kind, name in [("gradients", "0.weight"), ("parameters", "2.bias")]:
        steps = [h["step"] for h in histograms if h["kind"] == kind and h["name"] == name]
        assert steps == [2, 4, 6, 8]  # strictly increasing, none overwritten or lost
    with mlcore.start_run() as other:  # a new run starts counting again
        mlcore.torch.watch(net, log="gradients", log_freq=2)
        train(2)
    assert mlcore.metric_history(other.id, "gradients/0.weight/norm").column(
        "step"
    ).to_pylist() == [2]

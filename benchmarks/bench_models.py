"""Models, side by side with MLflow on SQLite: log + load + predict a 100-tree RandomForest;
registry operations; ONNX vs native prediction latency.

Bars (issue: Models): log_model + load_model + predict >= 3x faster than MLflow; registry
create version / set alias / get by alias >= 5x faster than MLflow.

MLflow's ``sklearn.log_model`` default (skops) refuses a RandomForest on this version
(peers.md), so it is measured with ``serialization_format="cloudpickle"``: once with its
default requirement inference (what users get) and once with requirements given (its floor).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from _common import fmt_seconds, have, median_time, quiet_peers, report, scratch_dir, skipped


def forest(trees: int = 100) -> tuple[object, object]:
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    X, y = make_classification(n_samples=2000, n_features=20, random_state=0)
    return RandomForestClassifier(n_estimators=trees, random_state=0, n_jobs=1).fit(X, y), X


def mlcore_round_trip(tracker: object, model: object, X: object) -> None:
    with tracker.start_run("bench") as run:  # type: ignore[attr-defined]
        info = run.log_model(model, "model", input_example=X[:5])  # type: ignore[index]
    loaded = tracker.load_model(info.model_uri)  # type: ignore[attr-defined]
    loaded.predict(X[:1])  # type: ignore[index]


def mlflow_round_trip(model: object, X: object, requirements: bool) -> None:
    import mlflow

    extra = {"pip_requirements": ["scikit-learn", "cloudpickle"]} if requirements else {}
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            serialization_format="cloudpickle",
            input_example=X[:5],
            **extra,  # type: ignore[index]
        )
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    loaded.predict(X[:1])  # type: ignore[index]


def registry_ops(n: int, peer: bool = True) -> tuple[list[float], list[float] | None]:
    """Median per-op time for (create version, set alias, get by alias), mlcore and MLflow
    (None when ``peer`` is False)."""
    import mlcore

    class Tiny:
        def predict(self, data: object) -> object:
            return data

    with scratch_dir() as home:
        tracker = mlcore.Tracker(os.path.join(home, "mlcore"))
        run = tracker.create_run("bench")
        uri = tracker.log_model(run.info.run_id, Tiny(), "model").model_uri
        registry = mlcore.Registry(tracker=tracker)
        registry.create_version("m", uri)
        ours: list[list[float]] = [[], [], []]
        for _ in range(n):
            t0 = time.perf_counter()
            version = registry.create_version("m", uri)
            t1 = time.perf_counter()
            registry.set_alias("m", "champion", version.version)
            t2 = time.perf_counter()
            registry.get_version("m", "@champion")
            t3 = time.perf_counter()
            for bucket, value in zip(ours, (t1 - t0, t2 - t1, t3 - t2)):
                bucket.append(value)
        assert registry.get_version("m", "@champion").version == n + 1
        tracker.close()
        if not peer:
            return [statistics.median(b) for b in ours], None
        import mlflow

        mlflow.set_tracking_uri(f"sqlite:///{home}/mlflow.db")
        mlflow.set_experiment("bench")
        with mlflow.start_run() as active:
            mlflow.pyfunc.log_model(
                name="model", python_model=mlflow.pyfunc.PythonModel(), pip_requirements=[]
            )
        client = mlflow.MlflowClient()
        source = f"runs:/{active.info.run_id}/model"
        client.create_registered_model("m")
        theirs: list[list[float]] = [[], [], []]
        for _ in range(n):
            t0 = time.perf_counter()
            version = client.create_model_version("m", source, run_id=active.info.run_id)
            t1 = time.perf_counter()
            client.set_registered_model_alias("m", "champion", version.version)
            t2 = time.perf_counter()
            client.get_model_version_by_alias("m", "champion")
            t3 = time.perf_counter()
            for bucket, value in zip(theirs, (t1 - t0, t2 - t1, t3 - t2)):
                bucket.append(value)
    return [statistics.median(b) for b in ours], [statistics.median(b) for b in theirs]


def onnx_latency(model: object, X: object, repeats: int) -> tuple[float, float]:
    import mlcore

    with scratch_dir() as home:
        tracker = mlcore.Tracker(os.path.join(home, "mlcore"))
        with tracker.start_run("bench") as run:
            native_info = run.log_model(model, "native", input_example=X[:5])  # type: ignore[index]
            proto = mlcore.onnx.export(model, X[:50])  # type: ignore[index]
            onnx_info = run.log_model(proto, "onnx", input_example=X[:5].astype("float32"))  # type: ignore[union-attr,index]
        native = tracker.load_model(native_info.model_uri)
        onnx = tracker.load_model(onnx_info.model_uri)
        row = X[:1]  # type: ignore[index]
        for model_ in (native, onnx):
            for _ in range(20):
                model_.predict(row)

        def per_call(loaded: object) -> float:
            samples = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                loaded.predict(row)  # type: ignore[attr-defined]
                samples.append(time.perf_counter() - t0)
            return statistics.median(samples)

        result = per_call(native), per_call(onnx)
        tracker.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--registry-ops", type=int, default=30)
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat (CI)")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.registry_ops = 1, 3
    quiet_peers()
    peer = have("mlflow")
    if peer:
        import mlflow
        import mlflow.pyfunc
        import mlflow.sklearn

    import mlcore
    import mlcore.onnx

    model, X = forest(10 if args.quick else 100)
    # each side keeps one client on one SQLite store; only the round trips are timed
    with scratch_dir() as home:
        tracker = mlcore.Tracker(os.path.join(home, "mlcore"))
        mlcore_round_trip(tracker, model, X)  # warm-up: imports, first-use paths
        ours, _ = median_time(lambda: mlcore_round_trip(tracker, model, X), args.repeats)
        models = len(tracker.search_runs("bench"))
        assert models == args.repeats + 1, models
        tracker.close()
        theirs = floor = None
        if peer:
            mlflow.set_tracking_uri(f"sqlite:///{home}/mlflow.db")
            mlflow.set_experiment("bench")  # database + migrations, outside the timers
            mlflow_round_trip(model, X, True)
            theirs, _ = median_time(lambda: mlflow_round_trip(model, X, False), 3)
            floor, _ = median_time(lambda: mlflow_round_trip(model, X, True), args.repeats)
    (c, a, g), peer_ops = registry_ops(args.registry_ops, peer)
    mc, ma, mg = peer_ops or (None, None, None)
    native, onnx = onnx_latency(model, X, 20 if args.quick else 300)

    def secs(value: float | None) -> str:
        return skipped("mlflow") if value is None else fmt_seconds(value)

    def faster(ours: float, value: float | None, fmt: str = "{:.1f}x faster") -> str:
        return "" if value is None else fmt.format(value / ours)

    report(
        f"models, SQLite store, {10 if args.quick else 100}-tree RandomForest (median)",
        [
            (
                "log_model + load_model + predict (MLflow defaults)",
                fmt_seconds(ours),
                secs(theirs),
                faster(ours, theirs, "{:.0f}x faster"),
            ),
            (
                "same, MLflow given pip_requirements (its floor)",
                fmt_seconds(ours),
                secs(floor),
                faster(ours, floor),
            ),
            ("registry: create version", fmt_seconds(c), secs(mc), faster(c, mc)),
            ("registry: set alias", fmt_seconds(a), secs(ma), faster(a, ma)),
            (
                "registry: get version by alias",
                fmt_seconds(g),
                secs(mg),
                faster(g, mg),
            ),
            (
                "predict 1 row, loaded model: native sklearn vs ONNX (mlcore)",
                fmt_seconds(native),
                fmt_seconds(onnx),
                f"ONNX {native / onnx:.1f}x faster",
            ),
        ],
    )


if __name__ == "__main__":
    main()

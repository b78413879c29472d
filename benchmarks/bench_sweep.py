"""Sweeps: per-trial overhead vs Optuna, bayes vs random, Hyperband's savings.

- Overhead: ``--trials`` no-op trials (random and TPE): ``mlcore.sweep`` (every trial a run in a
  SQLite store: claimed, configured, ended; the sweep's summary and plot included) vs Optuna's
  ``study.optimize`` in memory and with its SQLite storage (what Optuna needs for a study that
  survives its process or has several workers, as every mlcore sweep does). Median of
  ``--repeats``. Set-up outside the timers: mlcore's store (database, migrations) and Optuna's
  study (``create_study``: its database and migrations). Durability: mlcore's SQLite runs WAL +
  ``synchronous=NORMAL``, Optuna's SQLite keeps SQLite's defaults (rollback journal,
  ``synchronous=FULL``: every commit synced); the equal-durability figure runs mlcore with
  ``MLCORE_SQLITE_SYNCHRONOUS=FULL``. Afterwards both sides' trial counts are checked.
  Also the per-trial cost alone: (T(2N) - T(N)) / N for mlcore and Optuna in
  memory, which leaves out what a sweep pays once (its summary and parallel-coordinates plot).
- Quality: best value after ``--budget`` trials, bayes vs random, over ``--seeds`` seeds, on
  Branin, Hartmann-6 and a GradientBoostingRegressor on scikit-learn's diabetes data (RMSE on a
  held-out 30%).
- Hyperband: a random search of SGDClassifier (log-loss; eta0, alpha) trained epoch by epoch
  on scikit-learn's digits (27 epochs, validation accuracy logged each epoch), with and without
  ``early_terminate: hyperband`` (min_iter 3, eta 3), same seeds so the same draws: epochs
  trained and the best validation accuracy found.

    python benchmarks/bench_sweep.py [--trials 200] [--repeats 3] [--budget 30] [--seeds 5]
    python benchmarks/bench_sweep.py [--overhead-only] [--quick]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

from _common import report, scratch_dir, sqlite_synchronous

HARTMANN_A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
              [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]  # fmt: skip
HARTMANN_P = [
    [1312, 1696, 5569, 124, 8283, 5886],
    [2329, 4135, 8307, 3736, 1004, 9991],
    [2348, 1451, 3522, 2883, 3047, 6650],
    [4047, 8828, 8732, 5743, 1091, 381],
]
HARTMANN_ALPHA = [1.0, 1.2, 3.0, 3.2]


def branin(x: float, y: float) -> float:
    return (
        (y - 5.1 / (4 * math.pi**2) * x**2 + 5 / math.pi * x - 6) ** 2
        + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x)
        + 10
    )


def hartmann6(xs: list[float]) -> float:
    total = 0.0
    for a, p, alpha in zip(HARTMANN_A, HARTMANN_P, HARTMANN_ALPHA):
        inner = sum(a[j] * (xs[j] - p[j] * 1e-4) ** 2 for j in range(6))
        total -= alpha * math.exp(-inner)
    return total


def overhead(args: argparse.Namespace, scratch: str) -> list[tuple[str, str, str, str]]:
    import optuna

    import mlcore

    rows = []
    with mlcore.Tracker(f"{scratch}/overhead-warm") as tracker:  # first-use imports, untimed
        for method in ("random", "bayes"):
            mlcore.sweep({"method": method, "metric": {"name": "v", "goal": "minimize"},
                          "parameters": {"x": {"min": 0.0, "max": 1.0}}},
                         lambda: mlcore.log({"v": 0.0}), count=2, tracker=tracker)  # fmt: skip
    optuna.create_study().optimize(lambda t: t.suggest_float("x", 0, 1) * 0, n_trials=2)
    for method, sampler in (("random", optuna.samplers.RandomSampler),
                            ("bayes", optuna.samplers.TPESampler)):  # fmt: skip
        ours: list[float] = []
        ours_full: list[float] = []
        memory: list[float] = []
        rdb: list[float] = []
        for repeat in range(args.repeats):
            for level, into in (("NORMAL", ours), ("FULL", ours_full)):
                with (
                    sqlite_synchronous(level),
                    mlcore.Tracker(f"{scratch}/overhead-{method}-{level}-{repeat}") as tracker,
                ):
                    tracker.get_or_create_experiment("warm")  # database + migrations
                    config = {"method": method, "metric": {"name": "v", "goal": "minimize"},
                              "parameters": {"x": {"min": 0.0, "max": 1.0}}}  # fmt: skip
                    started = time.perf_counter()
                    sweep = mlcore.sweep(config, lambda: mlcore.log({"v": 0.0}),
                                         count=args.trials, tracker=tracker)  # fmt: skip
                    into.append((time.perf_counter() - started) / args.trials)
                    assert len(sweep.runs) == args.trials, len(sweep.runs)
            database = f"sqlite:///{scratch}/optuna-{method}-{repeat}.db"
            for storage, into in ((None, memory), (database, rdb)):
                options = {"seed": repeat, "multivariate": True} if method == "bayes" else {}
                study = optuna.create_study(sampler=sampler(**options), storage=storage)  # type: ignore[arg-type]
                started = time.perf_counter()
                study.optimize(lambda t: t.suggest_float("x", 0, 1) * 0, n_trials=args.trials)
                into.append((time.perf_counter() - started) / args.trials)
                assert len(study.trials) == args.trials, len(study.trials)
        mine, full, theirs, theirs_rdb = (
            statistics.median(v) for v in (ours, ours_full, memory, rdb)
        )
        marginal = per_trial_marginal(args, scratch, method, sampler)
        rows.append((
            f"per-trial cost, {method}: (T({2 * args.trials}) - T({args.trials})) / "
            f"{args.trials} (a sweep's fixed cost, summary and plot, left out)",
            f"{marginal[0] * 1e3:.2f} ms",
            f"{marginal[1] * 1e3:.2f} ms in memory",
            f"{marginal[0] / marginal[1]:.1f}x of in-memory",
        ))  # fmt: skip
        rows.append((
            f"overhead per no-op trial, {method} ({args.trials} trials)",
            f"{mine * 1e3:.2f} ms (NORMAL); {full * 1e3:.2f} ms (FULL)",
            f"{theirs * 1e3:.2f} ms in memory; {theirs_rdb * 1e3:.2f} ms SQLite (FULL)",
            f"{mine / theirs:.1f}x of in-memory; {mine / theirs_rdb:.2f}x of SQLite; "
            f"{full / theirs_rdb:.2f}x at equal durability",
        ))  # fmt: skip
    return rows


def per_trial_marginal(
    args: argparse.Namespace, scratch: str, method: str, sampler: Any
) -> tuple[float, float]:
    """What one more no-op trial costs (mlcore, Optuna in memory): the median over
    ``--repeats`` of the difference between sweeps of 2N and N trials, divided by N. Every
    mlcore trial is still a stored run (checked)."""
    import optuna

    import mlcore

    ours: list[float] = []
    theirs: list[float] = []
    for repeat in range(args.repeats):
        times = {}
        for count in (args.trials, 2 * args.trials):
            with mlcore.Tracker(f"{scratch}/marginal-{method}-{repeat}-{count}") as tracker:
                config = {"method": method, "metric": {"name": "v", "goal": "minimize"},
                          "parameters": {"x": {"min": 0.0, "max": 1.0}}}  # fmt: skip
                started = time.perf_counter()
                done = mlcore.sweep(config, lambda: mlcore.log({"v": 0.0}), count=count,
                                    tracker=tracker)  # fmt: skip
                times[count] = time.perf_counter() - started
                assert len(done.runs) == count, len(done.runs)
                assert all(r.info.status.value == "FINISHED" for r in done.runs)
            options = {"seed": repeat, "multivariate": True} if method == "bayes" else {}
            study = optuna.create_study(sampler=sampler(**options))
            started = time.perf_counter()
            study.optimize(lambda t: t.suggest_float("x", 0, 1) * 0, n_trials=count)
            times[-count] = time.perf_counter() - started
        n = args.trials
        ours.append((times[2 * n] - times[n]) / n)
        theirs.append((times[-2 * n] - times[-n]) / n)
    return statistics.median(ours), statistics.median(theirs)


def quality(args: argparse.Namespace, scratch: str) -> list[tuple[str, str, str, str]]:
    import mlcore

    problems: dict[str, tuple[dict[str, Any], Callable[[Any], float]]] = {
        "Branin (min 0.398)": (
            {"x": {"min": -5.0, "max": 10.0}, "y": {"min": 0.0, "max": 15.0}},
            lambda c: branin(c.x, c.y),
        ),
        "Hartmann-6 (min -3.32)": (
            {f"x{i}": {"min": 0.0, "max": 1.0} for i in range(6)},
            lambda c: hartmann6([c[f"x{i}"] for i in range(6)]),
        ),
        "GradientBoosting on diabetes (RMSE)": gradient_boosting(),
    }
    rows = []
    with mlcore.Tracker(f"{scratch}/quality") as tracker:
        for label, (parameters, objective) in problems.items():
            best: dict[str, list[float]] = {"bayes": [], "random": []}
            for seed in range(args.seeds):
                for method in best:
                    cfg = {"method": method, "seed": seed, "parameters": parameters,
                           "metric": {"name": "v", "goal": "minimize"}}  # fmt: skip

                    def trial(c: Any, objective: Callable[[Any], float] = objective) -> None:
                        mlcore.log({"v": objective(c)})

                    sweep = mlcore.sweep(cfg, trial, count=args.budget, tracker=tracker)
                    best[method].append(sweep.best_run.data.metrics["v"])  # type: ignore[union-attr]
            wins = sum(b < r for b, r in zip(best["bayes"], best["random"]))
            rows.append((f"{label}: median best after {args.budget} trials",
                         f"bayes {statistics.median(best['bayes']):.4f}",
                         f"random {statistics.median(best['random']):.4f}",
                         f"bayes better in {wins}/{args.seeds} seeds"))  # fmt: skip
    return rows


def gradient_boosting() -> tuple[dict[str, Any], Callable[[Any], float]]:
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.metrics import mean_squared_error
    from sklearn.model_selection import train_test_split

    x, y = load_diabetes(return_X_y=True)
    x_train, x_valid, y_train, y_valid = train_test_split(x, y, test_size=0.3, random_state=0)
    parameters = {
        "n_estimators": {"distribution": "int_uniform", "min": 10, "max": 300},
        "learning_rate": {"distribution": "log_uniform_values", "min": 0.005, "max": 1.0},
        "max_depth": {"distribution": "int_uniform", "min": 1, "max": 6},
        "subsample": {"min": 0.3, "max": 1.0},
        "min_samples_leaf": {"distribution": "int_uniform", "min": 1, "max": 50},
    }

    def rmse(c: Any) -> float:
        model = GradientBoostingRegressor(
            n_estimators=c.n_estimators, learning_rate=c.learning_rate, max_depth=c.max_depth,
            subsample=c.subsample, min_samples_leaf=c.min_samples_leaf, random_state=0,
        ).fit(x_train, y_train)  # fmt: skip
        return float(mean_squared_error(y_valid, model.predict(x_valid)) ** 0.5)

    return parameters, rmse


def hyperband(args: argparse.Namespace, scratch: str) -> list[tuple[str, str, str, str]]:
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.linear_model import SGDClassifier
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    import mlcore

    warnings.filterwarnings("ignore")  # SGD's convergence warnings at bad learning rates
    x, y = load_digits(return_X_y=True)
    x_train, x_valid, y_train, y_valid = train_test_split(x, y, test_size=0.3, random_state=0)
    scaler = StandardScaler().fit(x_train)
    x_train, x_valid = scaler.transform(x_train), scaler.transform(x_valid)
    classes = np.unique(y)

    def train() -> None:
        c = mlcore.config
        model = SGDClassifier(loss="log_loss", learning_rate="constant", eta0=c.eta0,
                              alpha=c.alpha, random_state=0)  # fmt: skip
        for _ in range(EPOCHS):
            model.partial_fit(x_train, y_train, classes=classes)
            mlcore.log({"val_acc": model.score(x_valid, y_valid)})

    base = {
        "method": "random",
        "metric": {"name": "val_acc", "goal": "maximize"},
        "parameters": {
            "eta0": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1.0},
            "alpha": {"distribution": "log_uniform_values", "min": 1e-6, "max": 1.0},
        },
    }
    epochs: dict[bool, list[int]] = {False: [], True: []}
    best: dict[bool, list[float]] = {False: [], True: []}
    with mlcore.Tracker(f"{scratch}/hyperband") as tracker:
        for seed in range(args.seeds):
            for early in (False, True):
                config = {**base, "seed": seed}
                if early:
                    config["early_terminate"] = {"type": "hyperband", "min_iter": 3, "eta": 3}
                sweep = mlcore.sweep(config, train, count=args.budget, tracker=tracker)
                runs = sweep.runs
                epochs[early].append(
                    sum(len(tracker.metric_history(r.info.run_id, "val_acc")) for r in runs)
                )
                best[early].append(sweep.value_of(sweep.best_run))  # type: ignore[arg-type]
    saved = [1 - e / f for e, f in zip(epochs[True], epochs[False])]
    gaps = [abs(e - f) / f for e, f in zip(best[True], best[False])]
    return [
        (f"Hyperband, SGD on digits, {args.budget} trials x {EPOCHS} epochs: epochs trained",
         f"{statistics.median(epochs[True]):.0f} (hyperband)",
         f"{statistics.median(epochs[False]):.0f} (no early stopping)",
         f"median {statistics.median(saved):.0%} saved (min {min(saved):.0%})"),
        ("Hyperband: best validation accuracy",
         f"{statistics.median(best[True]):.4f}",
         f"{statistics.median(best[False]):.4f}",
         f"largest gap over seeds {max(gaps):.2%}"),
    ]  # fmt: skip


EPOCHS = 27


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--budget", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--overhead-only", action="store_true", help="skip quality, Hyperband")
    parser.add_argument("--quick", action="store_true", help="the overhead rows, small (CI)")
    args = parser.parse_args()
    if args.quick:
        args.trials, args.repeats, args.budget, args.seeds = 10, 1, 4, 1
        args.overhead_only = True
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with scratch_dir() as scratch:
        rows = overhead(args, scratch)
        if not args.overhead_only:
            rows += quality(args, scratch) + hyperband(args, scratch)
    report("Sweeps", rows)


if __name__ == "__main__":
    main()

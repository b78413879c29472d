"""Sweeps: per-trial overhead vs Optuna, and bayes vs random on Branin and Hartmann-6.

- Overhead: ``--trials`` no-op trials with the TPE sampler, ``mlcore.sweep`` (every trial a
  run in a SQLite store, claimed, configured, ended) vs Optuna's in-memory ``study.optimize``.
- Quality: best value after ``--budget`` trials, bayes vs random, over ``--seeds`` seeds.

    python benchmarks/bench_sweep.py [--trials 100] [--budget 30] [--seeds 5]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

from _common import report, scratch_dir

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--budget", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    import optuna

    import mlcore

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rows = []
    with scratch_dir() as scratch:
        tracker = mlcore.Tracker(f"{scratch}/store")
        config = {"method": "bayes", "metric": {"name": "v", "goal": "minimize"},
                  "parameters": {"x": {"min": 0.0, "max": 1.0}}}  # fmt: skip
        started = time.perf_counter()
        mlcore.sweep(config, lambda: mlcore.log({"v": 0.0}), count=args.trials, tracker=tracker)
        ours = (time.perf_counter() - started) / args.trials
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0, multivariate=True))
        started = time.perf_counter()
        study.optimize(lambda t: t.suggest_float("x", 0, 1) * 0, n_trials=args.trials)
        theirs = (time.perf_counter() - started) / args.trials
        rows.append((f"overhead per no-op trial ({args.trials} trials, TPE)",
                     f"{ours * 1e3:.2f} ms", f"{theirs * 1e3:.2f} ms (Optuna)",
                     f"{ours / theirs:.2f}x of Optuna"))  # fmt: skip

        problems = {
            "Branin (min 0.398)": (
                {"x": {"min": -5.0, "max": 10.0}, "y": {"min": 0.0, "max": 15.0}},
                lambda c: branin(c.x, c.y),
            ),
            "Hartmann-6 (min -3.32)": (
                {f"x{i}": {"min": 0.0, "max": 1.0} for i in range(6)},
                lambda c: hartmann6([c[f"x{i}"] for i in range(6)]),
            ),
        }
        for label, (parameters, objective) in problems.items():
            best: dict[str, list[float]] = {"bayes": [], "random": []}
            for seed in range(args.seeds):
                for method in best:
                    cfg = {"method": method, "seed": seed, "parameters": parameters,
                           "metric": {"name": "v", "goal": "minimize"}}  # fmt: skip

                    def trial(c: object, objective: object = objective) -> None:
                        mlcore.log({"v": objective(c)})  # type: ignore[operator]

                    sweep = mlcore.sweep(cfg, trial, count=args.budget, tracker=tracker)
                    best[method].append(sweep.best_run.data.metrics["v"])  # type: ignore[union-attr]
            wins = sum(b < r for b, r in zip(best["bayes"], best["random"]))
            rows.append((f"{label}: median best after {args.budget} trials",
                         f"bayes {statistics.median(best['bayes']):.4f}",
                         f"random {statistics.median(best['random']):.4f}",
                         f"bayes better in {wins}/{args.seeds} seeds"))  # fmt: skip
        tracker.close()
    report("Sweeps", rows)


if __name__ == "__main__":
    main()

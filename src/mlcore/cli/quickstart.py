"""``mlcore quickstart``: train a small model on the embedded default store and log it all.

Pure Python (no numpy, no framework), so it runs right after ``pip install mlcore``.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import sys
from typing import Any

import mlcore

__all__ = ["EXPERIMENT", "add_parser", "run_quickstart", "train"]

EXPERIMENT = "quickstart"


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "quickstart", parents=[common], help="log a real training run to the default store"
    )
    parser.add_argument("--epochs", type=int, default=30)
    parser.set_defaults(handler=run_quickstart, needs_tracker=False)


def _dataset(rng: random.Random, n: int = 400) -> list[tuple[list[float], int]]:
    """Two Gaussian blobs in 4 dimensions."""
    data = []
    for _ in range(n):
        label = rng.random() < 0.5
        centre = 1.0 if label else -1.0
        data.append(([rng.gauss(centre, 1.3) for _ in range(4)], int(label)))
    return data


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


def train(tracking_uri: str | None, epochs: int) -> Any:
    if tracking_uri:
        mlcore.set_tracking_uri(tracking_uri)
    mlcore.set_experiment(EXPERIMENT)
    config = {"learning_rate": 0.1, "epochs": epochs, "l2": 0.001, "seed": 42}
    rng = random.Random(config["seed"])
    data = _dataset(rng)
    split = int(len(data) * 0.8)
    train_set, test_set = data[:split], data[split:]
    with mlcore.start_run(
        name="logistic-regression",
        config=config,
        tags={"model": "logistic-regression", "source": "mlcore quickstart"},
        notes="A logistic regression trained by gradient descent in pure Python.",
    ) as run:
        weights, bias = [0.0] * 4, 0.0
        lr, l2 = config["learning_rate"], config["l2"]
        for _epoch in range(epochs):
            loss = 0.0
            for features, label in train_set:
                p = _sigmoid(sum(w * x for w, x in zip(weights, features)) + bias)
                loss -= label * math.log(p + 1e-12) + (1 - label) * math.log(1 - p + 1e-12)
                error = p - label
                weights = [w - lr * (error * x + l2 * w) for w, x in zip(weights, features)]
                bias -= lr * error
            correct = sum(
                (_sigmoid(sum(w * x for w, x in zip(weights, f)) + bias) > 0.5) == bool(y)
                for f, y in test_set
            )
            mlcore.log(
                {"train_loss": loss / len(train_set), "test_accuracy": correct / len(test_set)}
            )
        mlcore.log_dict({"weights": weights, "bias": bias}, "model/weights.json")
        mlcore.log_text(
            f"# Logistic regression\n\nTest accuracy: {correct / len(test_set):.3f}\n",
            "model/README.md",
        )
    return mlcore.get_run(run.id)


def _command() -> str:
    """How the user can call the CLI from where they are (``mlcore`` may not be on PATH,
    e.g. right after ``scripts/quickstart.sh`` installed it into ``.venv``)."""
    installed = os.path.join(os.path.dirname(sys.executable), "mlcore")
    on_path = shutil.which("mlcore")
    if on_path and os.path.realpath(on_path) == os.path.realpath(installed):
        return "mlcore"
    if os.path.exists(installed):
        relative = os.path.relpath(installed)
        return relative if not relative.startswith("..") else installed
    return f"{sys.executable} -m mlcore"


def run_quickstart(_tracker: Any, args: argparse.Namespace) -> int:
    run = train(args.tracking_uri, args.epochs)
    uri = mlcore.get_tracking_uri()
    where = os.path.abspath(uri) if "://" not in uri else uri
    print(
        f"Logged run {run.id} ({run.info.name}) to experiment '{EXPERIMENT}': "
        f"{run.info.status.value}"
    )
    for key, value in sorted(run.data.metrics.items()):
        print(f"  {key:15s} {value:.4f}")
    command = _command() + (f" -u {args.tracking_uri}" if args.tracking_uri else "")
    print(f"\nStored in {where}. Look at it with:")
    print(f"  {command} runs show {run.id}")
    print(
        f"  {command} runs list --experiment {EXPERIMENT} --order-by 'metrics.test_accuracy DESC'"
    )
    ui = _command() + " ui" + (f" --store {args.tracking_uri}" if args.tracking_uri else "")
    print(f"\nOr in your browser: run `{ui}` and open http://localhost:5000/")
    return 0

"""What a sweep found, from its trial runs: a table of the trials, the importance of each
parameter, a parallel-coordinates plot, and the summary logged on the sweep run when an
agent stops."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from mlcore.sweep.config import SweepConfig
from mlcore.sweep.search import OptunaSearch
from mlcore.sweep.trial_runs import (
    ATTEMPT_TAG,
    TRIAL_TAG,
    best_run,
    metric_value,
    param_value,
    trial_params,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from mlcore.tracking import Tracker
    from mlcore.types import Run

__all__ = ["PLOT_FILE", "importance", "log_summary", "plot_parallel_coordinates", "runs_table"]

log = logging.getLogger("mlcore.sweep")

#: The sweep run's artifact with the parallel-coordinates plot.
PLOT_FILE = "parallel_coordinates.png"


def runs_table(config: SweepConfig, runs: list[Run]) -> pa.Table:
    """One row per trial run: id, trial, attempt, status, each parameter, the metric."""
    import pyarrow as pa

    names = [p.name for p in config.parameters]
    columns: dict[str, list[Any]] = {
        "run_id": [r.info.run_id for r in runs],
        "trial": [int(r.data.tags.get(TRIAL_TAG, 0)) for r in runs],
        "attempt": [int(r.data.tags.get(ATTEMPT_TAG, 1)) for r in runs],
        "status": [r.info.status.value for r in runs],
    }
    for name in names:
        columns[name] = [param_value(r.data.params.get(name)) for r in runs]
    if config.metric:
        columns[config.metric] = [metric_value(config, r) for r in runs]
    arrays = {}
    for key, values in columns.items():
        try:
            arrays[key] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arrays[key] = pa.array([None if v is None else str(v) for v in values])
    return pa.table(arrays)


def importance(config: SweepConfig, runs: list[Run]) -> dict[str, float]:
    """How much each searched parameter explains the metric (Optuna's fANOVA, over the
    finished trials); empty with fewer than 3 of them."""
    searched = [s for s in config.parameters if s.distribution != "constant"]
    finished = [
        r for r in runs if r.info.status.value == "FINISHED" and metric_value(config, r) is not None
    ]
    if len(finished) < 3 or not searched or config.metric is None:
        return {}
    try:
        import optuna
    except ImportError:
        return {}
    search = OptunaSearch(config, 0)
    search.observe(
        [
            (r.info.run_id, trial_params(config, r), "FINISHED", metric_value(config, r))
            for r in finished
        ]
    )
    try:
        found = optuna.importance.get_param_importances(
            search.study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0)
        )
    except (RuntimeError, ValueError):
        return {}
    return {k: float(v) for k, v in found.items()}


def log_summary(tracker: Tracker, sweep_id: str, config: SweepConfig, runs: list[Run]) -> None:
    """Log the best value (``best/<metric>``) and run (a tag) on the sweep run, and its
    parallel-coordinates plot (a plot that fails is logged, never raised)."""
    best = best_run(config, runs)
    if best is not None and config.metric:
        value = metric_value(config, best)
        if value is not None:
            tracker.log_metric(sweep_id, f"best/{config.metric}", value)
        tracker.set_tag(sweep_id, "mlcore.sweep.best_run", best.info.run_id)
    try:
        plot_parallel_coordinates(tracker, sweep_id, config, runs, PLOT_FILE)
    except Exception:  # a plot is a convenience; never fail the sweep for it
        log.exception("could not draw the sweep's parallel-coordinates plot")


def plot_parallel_coordinates(
    tracker: Tracker,
    sweep_id: str,
    config: SweepConfig,
    runs: list[Run],
    artifact_file: str = PLOT_FILE,
) -> str | None:
    """Draw every finished trial as a line across the parameters and the metric; logged as
    an artifact of the sweep run. Returns the artifact path (None without trials)."""
    table = runs_table(config, runs)
    names = [p.name for p in config.parameters if p.distribution != "constant"]
    metric = config.metric
    rows = [r for r in table.to_pylist() if r["status"] in ("FINISHED", "KILLED")]
    if not rows or not names:
        return None
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import numpy as np

    axes = names + ([metric] if metric else [])
    scaled = np.zeros((len(rows), len(axes)))
    labels: list[list[tuple[float, str]]] = []  # per axis: (height, text)
    for j, name in enumerate(axes):
        raw = [row.get(name) for row in rows]
        numeric = all(isinstance(v, (int, float)) and v is not None for v in raw)
        if numeric:
            values = np.asarray(raw, dtype=float)
        else:
            levels = sorted({str(v) for v in raw})
            values = np.asarray([levels.index(str(v)) for v in raw], dtype=float)
        low, span = values.min(), values.max() - values.min()
        scaled[:, j] = (values - low) / span if span else 0.5
        if numeric:
            ends = [(0.0, low), (1.0, values.max())] if span else [(0.5, low)]
            labels.append([(h, f"{v:.4g}") for h, v in ends])
        else:
            labels.append([((k / span if span else 0.5), t) for k, t in enumerate(levels)])
    from matplotlib.collections import LineCollection

    fig, ax = plt.subplots(figsize=(1.6 * len(axes) + 2, 4))
    colors = scaled[:, -1] if metric else np.zeros(len(rows))
    cmap = plt.get_cmap("viridis" if config.maximize else "viridis_r")
    xs = np.arange(len(axes), dtype=float)
    lines = LineCollection(  # one artist for every trial: fast with thousands of them
        [np.column_stack([xs, row]) for row in scaled],
        colors=cmap(colors),
        alpha=0.7,
        linewidths=1.2,
    )
    ax.add_collection(lines)
    for j, marks in enumerate(labels):
        ax.axvline(j, color="0.75", lw=0.8, zorder=0)
        for height, text in marks:
            ax.text(j + 0.03, height, text, fontsize=8, va="center", color="0.25")
    ax.set_xlim(-0.1, len(axes) - 0.6)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xticks(range(len(axes)), axes)
    ax.set_yticks([])
    ax.set_title(f"sweep {sweep_id[:8]}: {len(rows)} trials")
    fig.tight_layout()
    tracker.log_figure(sweep_id, fig, artifact_file)
    plt.close(fig)
    return artifact_file

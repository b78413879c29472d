"""Developer sessions: ``nox -s tests lint typecheck bench``."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite (PostgreSQL tests start their own server when the binaries exist)."""
    session.install("-r", "requirements-test.txt")
    session.run(
        "pytest",
        "-q",
        "tests",
        "plugins/_template/tests",
        "plugins/mlcore-dask/tests",
        "plugins/mlcore-kubernetes/tests",
        "plugins/mlcore-s3/tests",
        "plugins/mlcore-gcs/tests",
        *session.posargs,
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff and the import-layer contract."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", "src", "tests", "plugins", "benchmarks")
    session.run("ruff", "format", "--check", "src", "tests", "plugins", "benchmarks")
    session.run("lint-imports")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy, strict on src/ and the plugins."""
    session.install(
        "-e",
        ".[dev]",
        "-e",
        "./plugins/mlcore-dask",
        "-e",
        "./plugins/mlcore-kubernetes",
        "-e",
        "./plugins/mlcore-s3",
        "-e",
        "./plugins/mlcore-gcs",
    )
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    """Side-by-side benchmarks against the peers (MLflow, kfp) in one environment."""
    session.install(
        "-e",
        ".[postgres]",
        "-e",
        "./plugins/mlcore-s3",
        "mlflow==3.17.2",
        "kfp",
        "scikit-learn",
        "pandas",
        "onnxruntime",
        "skl2onnx",
        "moto[server]",
        "optuna",
        "cmaes",
    )
    for script in (
        "bench_import",
        "bench_first_use",
        "bench_logging",
        "bench_search",
        "bench_metric_history",
        "bench_history_scale",
        "bench_models",
        "bench_pipelines",
        "bench_storage",
        "bench_server",
        "bench_serving",
        "bench_sweep",
    ):
        session.run("python", f"benchmarks/{script}.py", *session.posargs)

"""W&B's run calls side by side with the real ``wandb`` SDK in offline mode, in the same run.

Rows: ``init`` + ``finish`` of an empty run; ``log`` of 1 key and of 10 keys per step, N steps
(the call rate, and N calls + ``finish``: until everything is stored); a 10,000-row Table
logged and stored (``log`` + ``finish``). mlcore: ``import mlcore as wandb`` on a SQLite store
(WAL, ``synchronous=NORMAL``); W&B: ``wandb.init(mode="offline")`` writing its run directory
(its Go core stores the history). The first Table of each side is logged
untimed (imports). W&B runs in its own virtualenv (``.venv-wandb``, from
``scripts/peer-venvs.sh``) as a subprocess that times itself; without it its cells say so.
Each side checks what it stored: mlcore reads the history and the table back; W&B's run
file must exist and be non-empty.

Goals (issue 20): ``log`` >= 50x W&B, ``init`` + ``finish`` >= 10x.
Run: ``python benchmarks/bench_wandb.py`` (``--quick`` for a short run, as in CI).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from _common import fmt_rate, fmt_seconds, report, scratch_dir

ROOT = Path(__file__).resolve().parent.parent

WANDB_SCRIPT = """
import glob, json, os, statistics, sys, time
import wandb

N, KEYS, ROWS, REPEATS = (int(x) for x in sys.argv[1:5])
out = {}

def init():
    return wandb.init(project="bench", mode="offline", settings=wandb.Settings(
        console="off", x_disable_stats=True, disable_git=True, disable_code=True))

samples = []
for _ in range(REPEATS):
    start = time.perf_counter()
    init().finish()
    samples.append(time.perf_counter() - start)
out["init_finish"] = statistics.median(samples)

for keys in (1, KEYS):
    calls, stored = [], []
    for _ in range(REPEATS):
        run = init()
        names = [f"k{i}" for i in range(keys)]
        start = time.perf_counter()
        for step in range(N):
            run.log({name: step * 0.5 for name in names})
        logged = time.perf_counter()
        run.finish()
        end = time.perf_counter()
        calls.append(logged - start)
        stored.append(end - start)
        files = glob.glob(os.path.join(run.dir, "..", "*.wandb"))
        assert files and os.path.getsize(files[0]) > 0, files
    out[f"log_{keys}_calls"] = statistics.median(calls)
    out[f"log_{keys}_stored"] = statistics.median(stored)

warm = init()  # imports a Table needs (pandas, pyarrow...): set-up, not timed
warm.log({"table": wandb.Table(columns=["id"], data=[[1]])})
warm.finish()
samples = []
for _ in range(REPEATS):
    run = init()
    rows = [[i, f"item-{i}", i * 0.25] for i in range(ROWS)]
    start = time.perf_counter()
    run.log({"table": wandb.Table(columns=["id", "name", "score"], data=rows)})
    run.finish()
    samples.append(time.perf_counter() - start)
out["table"] = statistics.median(samples)
print(json.dumps(out))
"""


def wandb_side(n: int, keys: int, rows: int, repeats: int) -> dict[str, float] | str:
    python = ROOT / ".venv-wandb" / "bin" / "python"
    if not python.exists():
        return "skipped (.venv-wandb missing)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.pop("PYTHONPATH", None)
    with tempfile.TemporaryDirectory(prefix="bench-wandb-") as home:
        env.update(WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DIR=home)
        done = subprocess.run(
            [str(python), "-c", textwrap.dedent(WANDB_SCRIPT), str(n), str(keys), str(rows),
             str(repeats)],
            env=env, cwd=home, capture_output=True, text=True, timeout=1800, check=False,
        )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the wandb side failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def mlcore_side(n: int, keys: int, rows: int, repeats: int) -> dict[str, float]:
    import mlcore as wandb

    out: dict[str, float] = {}
    with scratch_dir() as home:
        wandb.set_tracking_uri(f"sqlite:///{home}/mlcore.db")
        wandb.init(project="bench").finish()  # the store and its migrations: set-up

        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            wandb.init(project="bench").finish()
            samples.append(time.perf_counter() - start)
        out["init_finish"] = statistics.median(samples)

        for width in (1, keys):
            calls, stored = [], []
            names = [f"k{i}" for i in range(width)]
            for _ in range(repeats):
                run = wandb.init(project="bench")
                start = time.perf_counter()
                for step in range(n):
                    run.log(dict.fromkeys(names, step * 0.5))
                logged = time.perf_counter()
                run.finish()
                end = time.perf_counter()
                calls.append(logged - start)
                stored.append(end - start)
                history = wandb.metric_history(run.id, names[-1])
                assert history.num_rows == n, history.num_rows
                assert history.column("value")[-1].as_py() == (n - 1) * 0.5
            out[f"log_{width}_calls"] = statistics.median(calls)
            out[f"log_{width}_stored"] = statistics.median(stored)

        warm = wandb.init(project="bench")  # imports (pyarrow, pandas): set-up, not timed
        warm.log({"table": wandb.Table(columns=["id"], data=[[1]])})
        warm.finish()
        samples = []
        for _ in range(repeats):
            run = wandb.init(project="bench")
            data = [[i, f"item-{i}", i * 0.25] for i in range(rows)]
            start = time.perf_counter()
            run.log({"table": wandb.Table(columns=["id", "name", "score"], data=data)})
            run.finish()
            samples.append(time.perf_counter() - start)
            table = run.media("table").value
            assert table.num_rows == rows
            assert table.column("name")[-1].as_py() == f"item-{rows - 1}"
        out["table"] = statistics.median(samples)
        wandb.get_tracker().close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (CI)")
    args = parser.parse_args()
    n, keys, rows, repeats = (300, 10, 1_000, 2) if args.quick else (5_000, 10, 10_000, 3)
    ours = mlcore_side(n, keys, rows, repeats)
    theirs = wandb_side(n, keys, rows, repeats)

    def row(what: str, key: str, rate_of: int | None = None) -> tuple[str, str, str, str]:
        def cell(seconds: float) -> str:
            if rate_of is None:
                return fmt_seconds(seconds)
            return f"{fmt_rate(rate_of / seconds, ' calls/s')} ({fmt_seconds(seconds)})"

        mine = ours[key]
        if isinstance(theirs, str):
            return (what, cell(mine), theirs, "")
        other = theirs[key]
        return (what, cell(mine), cell(other), f"{other / mine:.1f}x")

    rows_out: list[tuple[str, str, str, str]] = [
        row("init + finish (empty run)", "init_finish"),
        row(f"log 1 key, {n:,} calls", "log_1_calls", n),
        row(f"log 1 key, {n:,} calls + finish (stored)", "log_1_stored", n),
        row(f"log {keys} keys, {n:,} calls", f"log_{keys}_calls", n),
        row(f"log {keys} keys, {n:,} calls + finish (stored)", f"log_{keys}_stored", n),
        row(f"Table of {rows:,} rows: log + finish", "table"),
    ]
    title = f"W&B's run calls: mlcore (SQLite) vs wandb offline (medians of {repeats})"
    report(title, rows_out)
    print("\nratio = wandb time / mlcore time (higher: mlcore faster)")


if __name__ == "__main__":
    sys.exit(main())

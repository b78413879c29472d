"""`import mlcore` vs `import mlflow`, each in a fresh interpreter (median of N runs).

Bar (issue: Foundation): >= 10x faster than MLflow and under 150 ms.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from _common import fmt_seconds, have, report, skipped


def import_time(module: str, repeats: int) -> tuple[float, int]:
    samples = []
    count = 0
    for _ in range(repeats):
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-c", f"import sys, {module}; print(len(sys.modules))"],
            capture_output=True,
            text=True,
            check=True,
        )
        samples.append(time.perf_counter() - start)
        count = int(result.stdout.strip())
    return statistics.median(samples), count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="three repeats (CI)")
    args = parser.parse_args()
    if args.quick:
        args.repeats = 3
    baseline, base_modules = import_time("os", args.repeats)
    ours, our_modules = import_time("mlcore", args.repeats)
    assert our_modules > base_modules
    if not have("mlflow"):
        report(
            f"import (fresh interpreter, median of {args.repeats}; bare `python` = "
            f"{fmt_seconds(baseline)})",
            [
                ("wall clock incl. interpreter", fmt_seconds(ours), skipped("mlflow"), ""),
                ("import alone (minus bare python)", fmt_seconds(ours - baseline), "", ""),
                ("modules loaded", str(our_modules - base_modules), "", ""),
            ],
        )
        return
    peer, peer_modules = import_time("mlflow", args.repeats)
    report(
        f"import (fresh interpreter, median of {args.repeats}; bare `python` = "
        f"{fmt_seconds(baseline)})",
        [
            (
                "wall clock incl. interpreter",
                fmt_seconds(ours),
                fmt_seconds(peer),
                f"{peer / ours:.1f}x faster",
            ),
            (
                "import alone (minus bare python)",
                fmt_seconds(ours - baseline),
                fmt_seconds(peer - baseline),
                f"{(peer - baseline) / (ours - baseline):.1f}x faster",
            ),
            (
                "modules loaded",
                str(our_modules - base_modules),
                str(peer_modules - base_modules),
                "",
            ),
        ],
    )


if __name__ == "__main__":
    main()

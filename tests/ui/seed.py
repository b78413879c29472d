"""Runs for the run-page and compare tests, logged as a training script would."""

from __future__ import annotations

import json
import math
import struct
import zlib
from pathlib import Path
from typing import Any

#: the one-point spike of the million-point history
SPIKE_STEP = 654_321
SPIKE_VALUE = 1000.0
#: what the HTML artifact's script would do if it ever ran on the UI's origin
HTML_WITH_SCRIPT = (
    "<!doctype html><html><body><h1>Report</h1><p>hello from the html artifact</p>"
    "<script>localStorage.setItem('pwned', '1');"
    "try { window.top.document.body.setAttribute('data-pwned', '1') } catch (e) {}"
    "document.body.setAttribute('data-ran', '1');</script></body></html>"
)


def png(width: int = 24, height: int = 16) -> bytes:
    """A small red PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xd0\x20\x20" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def log_files(tracker: Any, run_id: str, tmp: Path) -> None:
    """A PNG, a CSV, JSON, Markdown and an HTML page with a script, as run artifacts."""
    tracker.log_bytes(run_id, png(), "plots/confusion.png")
    tracker.log_text(run_id, "name,score\nalpha,0.91\nbeta,0.87\n", "eval/scores.csv")
    tracker.log_dict(run_id, {"threshold": 0.5, "classes": ["no", "yes"]}, "eval/summary.json")
    tracker.log_text(run_id, "# Model card\n\nTrained on **clean** data.\n\n- fast\n", "README.md")
    tracker.log_text(run_id, HTML_WITH_SCRIPT, "report.html")


def log_million(tracker: Any, run_id: str, key: str = "loss", n: int = 1_000_000) -> None:
    """``n`` points of a smooth wave with one spike at SPIKE_STEP (when n passes it)."""
    store = tracker.store
    for start in range(0, n, 200_000):
        store.log_metrics(
            [
                (
                    run_id,
                    key,
                    SPIKE_VALUE if s == SPIKE_STEP else math.sin(s / 5000.0),
                    1_700_000_000_000 + 10 * s,
                    s,
                )
                for s in range(start, min(n, start + 200_000))
            ]
        )


def log_sklearn_model(tracker: Any, run_id: str, name: str = "classifier") -> None:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    x = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]])
    model = LogisticRegression().fit(x, [0, 1, 0, 1])
    tracker.log_model(run_id, model, "model", input_example=x[:2], registered_model_name=name)


def config_text(config: dict[str, Any]) -> str:
    return json.dumps(config, indent=2)

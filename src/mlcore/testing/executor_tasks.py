"""Step functions the executor conformance suite runs (importable wherever mlcore is).

One entry point, :func:`conformance_task`, driven by a JSON payload so that any executor can
run it without shipping code: ``{"op": "echo" | "fail" | "sleep" | "exit", ...}``.
"""

from __future__ import annotations

import json
import os
import time


def conformance_task(payload: bytes) -> bytes:
    """Do what ``payload`` says and return a JSON report (start, end, pid)."""
    order = json.loads(payload)
    started = time.time()
    op = order.get("op")
    if op == "fail":
        raise ValueError(order.get("message", "asked to fail"))
    if op == "sleep":
        time.sleep(float(order["seconds"]))
    if op == "exit":
        os._exit(int(order.get("code", 7)))
    return json.dumps(
        {"echo": order.get("value"), "start": started, "end": time.time(), "pid": os.getpid()}
    ).encode()

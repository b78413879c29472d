"""Step functions the executor conformance suite runs (importable wherever mlcore is).

One entry point, :func:`conformance_task`, driven by a JSON payload so that any executor can
run it without shipping code: ``{"op": "echo" | "fail" | "sleep" | "exit", ...}``. Executors
that run commands (containers) run ``python -m mlcore.testing.executor_tasks PAYLOAD``, which
writes the same report to the payload's ``report`` path.
"""

from __future__ import annotations

import json
import os
import sys
import time

__all__ = ["conformance_task", "main"]


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


def main(argv: list[str]) -> int:
    payload = argv[0].encode()
    report = json.loads(payload).get("report")
    try:
        value = conformance_task(payload)
    except Exception as exc:
        value, code = json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode(), 1
    else:
        code = 0
    if report:
        with open(report, "wb") as handle:
            handle.write(value)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

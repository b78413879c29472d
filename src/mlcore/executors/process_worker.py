"""A ``process`` executor worker: ``python -m mlcore.executors.process_worker FD``.

Receives ``cloudpickle((function, payload))`` messages on the connection at file descriptor
``FD`` and answers ``("ok", value)`` or ``("error", message)``, until the connection closes.
"""

from __future__ import annotations

import json
import os
import sys

__all__ = ["main"]


def main(fd: int) -> int:
    import multiprocessing.connection
    import signal

    import cloudpickle

    # Ctrl-C reaches the whole process group; the parent decides what to cancel (and kills)
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    connection = multiprocessing.connection.Connection(fd)
    while True:
        try:
            message = connection.recv_bytes()
        except (EOFError, OSError):
            return 0
        try:
            function, payload = cloudpickle.loads(message)
            reply: tuple[str, object] = ("ok", function(payload))
        except BaseException as exc:  # report everything; the process lives on
            reply = ("error", f"{type(exc).__name__}: {exc}")
        try:
            connection.send(reply)
        except (BrokenPipeError, OSError):
            return 0


if __name__ == "__main__":
    extra = os.environ.pop("MLCORE_WORKER_SYS_PATH", None)
    if extra:
        sys.path[:] = [p for p in json.loads(extra) if p] or sys.path
    sys.exit(main(int(sys.argv[1])))

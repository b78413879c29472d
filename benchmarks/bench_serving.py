"""Model serving: requests/s and latency of ``mlcore serve`` vs ``mlflow models serve``.

Both serve the same scikit-learn models — a 100-tree RandomForestClassifier and a
LogisticRegression, trained on a 20-feature DataFrame — as separate processes on loopback, one
uvicorn worker each (``mlflow models serve --env-manager local -w 1``; ``mlcore serve`` with its
defaults: micro-batching on, classifier labels compiled to ONNX after verification). Before
timing, both answer the same payload and the predictions must be equal.

Load: a closed loop of C clients (C = 1 and 8), each with its own keep-alive connection, sending
``POST /invocations`` with a ``dataframe_split`` of 1 or 100 rows for ``--seconds`` after a
warm-up. Reported per case: requests/s, p50 and p99 latency; medians over ``--repeats``.

    python benchmarks/bench_serving.py [--seconds 4] [--repeats 3] [--accelerate off]

``--accelerate off`` serves mlcore's models with scikit-learn itself, to see what the server
does without ONNX.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

from _common import have, quiet_peers, report, scratch_dir, skipped

ROWS = (1, 100)
CLIENTS = (1, 8)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(port: int, path: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status, _ = _Client(port).request("GET", path, b"")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"no server on {port}")


class _Client:
    """A minimal keep-alive HTTP/1.1 client (the same cheap client for both servers)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def request(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.sock.sendall(head + body)
        while b"\r\n\r\n" not in self.buffer:
            self._recv()
        header, _, rest = self.buffer.partition(b"\r\n\r\n")
        lines = header.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            rest += self._chunk()
        self.buffer = rest[length:]
        return status, rest[:length]

    def _recv(self) -> None:
        self.buffer += self._chunk()

    def _chunk(self) -> bytes:
        data = self.sock.recv(1 << 16)
        if not data:
            raise ConnectionError("server closed the connection")
        return data

    def close(self) -> None:
        self.sock.close()


def _load(port: int, body: bytes, clients: int, seconds: float) -> tuple[float, float, float]:
    """(requests/s, p50 s, p99 s) of a closed loop of ``clients``."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    start_at = time.perf_counter() + 0.5 + 0.3  # connect and warm up first
    stop_at = start_at + seconds
    errors: list[str] = []

    def worker(i: int) -> None:
        client = _Client(port)
        try:
            while True:
                t0 = time.perf_counter()
                if t0 >= stop_at:
                    return
                status, payload = client.request("POST", "/invocations", body)
                t1 = time.perf_counter()
                if status != 200:
                    errors.append(payload.decode(errors="replace")[:200])
                    return
                if t0 >= start_at:
                    latencies[i].append(t1 - t0)
        finally:
            client.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(errors[0])
    every = sorted(x for per in latencies for x in per)
    p99 = every[min(len(every) - 1, int(len(every) * 0.99))]
    return len(every) / seconds, statistics.median(every), p99


def _payload(frame: object, rows: int) -> bytes:
    part = frame.iloc[:rows]  # type: ignore[attr-defined]
    return json.dumps(
        {"dataframe_split": {"columns": list(part.columns), "data": part.to_numpy().tolist()}}
    ).encode()


def _train(quick: bool = False) -> dict[str, tuple[object, object]]:
    import pandas as pd
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    x, y = make_classification(5000, 20, n_informative=8, random_state=0)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(20)])
    lr = LogisticRegression(max_iter=1000).fit(frame, y)
    if quick:
        return {"LogisticRegression": (lr, frame)}
    rf = RandomForestClassifier(n_estimators=100, random_state=0).fit(frame, y)
    return {"RandomForest(100)": (rf, frame), "LogisticRegression": (lr, frame)}


def _start(cmd: list[str], port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        _wait_http(port, "/ping")
    except TimeoutError:
        proc.kill()
        raise
    return proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--accelerate", default="auto", choices=["auto", "onnx", "off"], help="mlcore's runtime"
    )
    parser.add_argument("--quick", action="store_true", help="one model, 1 row, 1 client (CI)")
    args = parser.parse_args()
    rows_cases, clients_cases = ROWS, CLIENTS
    if args.quick:
        args.seconds, args.repeats, rows_cases, clients_cases = 0.5, 1, (1,), (1,)
    quiet_peers()
    peer = have("mlflow")
    if peer:
        import mlflow
        import mlflow.sklearn

    import mlcore

    models = _train(args.quick)
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    rows_out = []
    with scratch_dir() as scratch:
        env["MLCORE_TRACKING_URI"] = os.path.join(scratch, "mlcore-store")
        if peer:
            mlflow.set_tracking_uri(f"sqlite:///{scratch}/mlflow.db")
        tracker = mlcore.Tracker(env["MLCORE_TRACKING_URI"])
        for label, (model, frame) in models.items():
            example = frame.iloc[:5]  # type: ignore[attr-defined]
            with tracker.start_run("serving-bench") as run:
                tracker.log_model(run.info.run_id, model, "model", input_example=example)
            mlcore_uri = f"runs:/{run.info.run_id}/model"
            servers = {}
            port = _free_port()
            servers["mlcore"] = (
                _start([sys.executable, "-m", "mlcore", "serve", mlcore_uri, "--port", str(port),
                        "--accelerate", args.accelerate],
                       port, env), port)  # fmt: skip
            if peer:
                with mlflow.start_run() as mlflow_run:
                    mlflow.sklearn.log_model(
                        model,
                        name="model",
                        input_example=example,
                        serialization_format="cloudpickle",
                    )
                mlflow_uri = f"runs:/{mlflow_run.info.run_id}/model"
                port = _free_port()
                servers["mlflow"] = (
                    _start([sys.executable, "-m", "mlflow", "models", "serve", "-m", mlflow_uri,
                            "--env-manager", "local", "-w", "1", "-p", str(port)],
                           port, {**env, "MLFLOW_TRACKING_URI": f"sqlite:///{scratch}/mlflow.db"}),
                    port)  # fmt: skip
            try:
                for rows in rows_cases:
                    body = _payload(frame, rows)
                    answers = {
                        name: json.loads(_Client(p).request("POST", "/invocations", body)[1])
                        for name, (_, p) in servers.items()
                    }
                    expected = model.predict(frame.iloc[:rows]).tolist()  # type: ignore[attr-defined]
                    if answers["mlcore"]["predictions"] != expected:
                        raise AssertionError(f"{label}: mlcore disagrees with scikit-learn")
                    if (
                        peer
                        and answers["mlcore"]["predictions"] != answers["mlflow"]["predictions"]
                    ):
                        raise AssertionError(f"{label}: the two servers disagree: {answers}")
                    for clients in clients_cases:
                        results = {name: [] for name in servers}
                        for _ in range(args.repeats):
                            for name, (_, p) in servers.items():
                                results[name].append(_load(p, body, clients, args.seconds))
                        med = {
                            name: tuple(statistics.median(r[i] for r in runs) for i in range(3))
                            for name, runs in results.items()
                        }
                        ours = med["mlcore"]
                        if not peer:
                            rows_out.append((
                                f"{label}, {rows} row(s), {clients} client(s)",
                                f"{ours[0]:.0f} req/s, p50 {ours[1] * 1e3:.2f} ms, "
                                f"p99 {ours[2] * 1e3:.2f} ms",
                                skipped("mlflow"),
                                "",
                            ))  # fmt: skip
                            continue
                        theirs = med["mlflow"]
                        rows_out.append(
                            (
                                f"{label}, {rows} row(s), {clients} client(s)",
                                f"{ours[0]:.0f} req/s, p50 {ours[1] * 1e3:.2f} ms, "
                                f"p99 {ours[2] * 1e3:.2f} ms",
                                f"{theirs[0]:.0f} req/s, p50 {theirs[1] * 1e3:.2f} ms, "
                                f"p99 {theirs[2] * 1e3:.2f} ms",
                                f"{ours[0] / theirs[0]:.1f}x req/s, p99 "
                                f"{theirs[2] / ours[2]:.1f}x lower",
                            )
                        )
                        print(rows_out[-1], flush=True)
            finally:
                for proc, _ in servers.values():
                    _stop(proc)
        tracker.close()
    report(
        f"Serving: mlcore serve (--accelerate {args.accelerate}) vs mlflow models serve "
        f"(medians of {args.repeats}, {args.seconds:g} s each)",
        rows_out,
    )


if __name__ == "__main__":
    main()

"""A metric history leaves the server as an Arrow stream written batch by batch (the server
never holds the encoded whole), and the client reads back exactly what was stored."""

from __future__ import annotations

import math
from pathlib import Path

import pyarrow as pa

from mlcore.server import Server
from mlcore.server.arrow_stream import BATCH_ROWS, ipc_chunks
from mlcore.tracking import Tracker


def test_a_long_table_goes_out_in_pieces_that_read_back_as_the_table() -> None:
    rows = 3 * BATCH_ROWS + 5
    table = pa.table(
        {
            "step": pa.array(range(rows), pa.int64()),
            "value": pa.array([float(i) / 3 for i in range(rows)], pa.float64()),
        }
    )
    pieces = list(ipc_chunks(table))
    assert len(pieces) >= 5  # schema + 4 batches + end marker, never one buffer
    assert max(len(p) for p in pieces) < BATCH_ROWS * 16 + 4096
    with pa.ipc.open_stream(pa.py_buffer(b"".join(pieces))) as reader:
        assert reader.read_all().equals(table)


def test_an_empty_history_is_a_valid_stream() -> None:
    table = pa.table({"step": pa.array([], pa.int64())})
    with pa.ipc.open_stream(pa.py_buffer(b"".join(ipc_chunks(table)))) as reader:
        assert reader.read_all().num_rows == 0


def test_a_history_of_several_batches_reads_back_exactly_over_http(tmp_path: Path) -> None:
    server = Server.tracking(store=f"sqlite:///{tmp_path}/m.db", artifacts=str(tmp_path / "a"))
    url = server.start()
    try:
        tracker = Tracker(url)
        run = tracker.start_run(experiment="stream")
        points = 2 * BATCH_ROWS + 17
        for i in range(points):
            run.log_metric("loss", math.inf if i == 7 else i * 0.25, step=i)
        run.end()
        history = tracker.metric_history(run.info.run_id, "loss")
        assert history.num_rows == points
        values = history.column("value").to_pylist()
        assert values[7] == math.inf and values[-1] == (points - 1) * 0.25
        assert history.column("step").to_pylist() == list(range(points))
        tracker.close()
    finally:
        server.stop()

"""A pyarrow table answered as an Arrow IPC stream, one record batch at a time.

The whole stream is never held in memory: a metric history of ten million points (240 MB of
columns) went out as one 240 MB buffer plus a copy of it; now the server holds the table and
one batch of at most :data:`BATCH_ROWS` rows of encoded bytes.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from starlette.responses import StreamingResponse

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["ARROW_STREAM", "BATCH_ROWS", "arrow_response", "ipc_chunks"]

ARROW_STREAM = "application/vnd.apache.arrow.stream"
BATCH_ROWS = 1 << 16


class _Parts(io.RawIOBase):
    """A write-only file object that keeps what it is given until taken."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.parts.append(chunk)
        return len(chunk)

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def ipc_chunks(table: pa.Table, batch_rows: int = BATCH_ROWS) -> Iterator[bytes]:
    """The Arrow IPC stream of ``table`` in pieces: schema, then one piece per batch, then the
    end-of-stream marker (their concatenation is exactly the stream ``ipc.new_stream`` writes)."""
    import pyarrow as pa

    sink = _Parts()
    writer = pa.ipc.new_stream(sink, table.schema)
    try:
        for batch in table.to_batches(max_chunksize=batch_rows):
            writer.write_batch(batch)
            yield sink.take()
    finally:
        writer.close()
    yield sink.take()


def arrow_response(table: pa.Table) -> StreamingResponse:
    """``table`` as a streamed Arrow IPC answer."""
    return StreamingResponse(ipc_chunks(table), media_type=ARROW_STREAM)

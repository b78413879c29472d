"""``Table``: rows logged with ``log`` (W&B's ``wandb.Table``), stored as Parquet."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any, ClassVar

from mlcore.errors import InvalidInputError
from mlcore.tracking.media.base import Media

__all__ = ["Table"]


class Table(Media):
    """``columns`` + ``data`` (rows), or a pandas ``dataframe``; ``add_data(*row)`` appends a
    row. Stored as Parquet and read back as a ``pyarrow.Table``, so tables of several steps
    join and filter with pyarrow (or pandas, DuckDB...). Cells are numbers, strings, bools or
    None (media in cells are not supported yet)."""

    kind: ClassVar[str] = "table"
    extension: ClassVar[str] = "parquet"

    def __init__(
        self,
        columns: Sequence[str] | None = None,
        data: Sequence[Sequence[Any]] | None = None,
        rows: Sequence[Sequence[Any]] | None = None,
        dataframe: Any = None,
    ) -> None:
        self._dataframe = dataframe
        if dataframe is not None:
            if data is not None or rows is not None:
                raise InvalidInputError("give a dataframe or data, not both", field="data")
            self.columns = [str(c) for c in dataframe.columns]
            self.data: list[list[Any]] = []
            return
        rows_given = data if data is not None else rows
        self.data = [list(row) for row in rows_given or []]
        if columns is None:
            width = len(self.data[0]) if self.data else 0
            columns = [f"col{i}" for i in range(width)]
        self.columns = [str(c) for c in columns]
        if len(set(self.columns)) != len(self.columns):
            raise InvalidInputError("Table columns must be unique", field="columns")
        for i, row in enumerate(self.data):
            self._check_row(row, i)

    def _check_row(self, row: Sequence[Any], index: int) -> None:
        if len(row) != len(self.columns):
            raise InvalidInputError(
                f"Table row {index} has {len(row)} cells for {len(self.columns)} columns",
                field="data",
            )
        for cell in row:
            if isinstance(cell, Media):
                raise InvalidInputError(
                    "media inside Table cells are not supported yet; log them as their own key",
                    field="data",
                )

    def add_data(self, *row: Any) -> None:
        """Append one row."""
        if self._dataframe is not None:
            raise InvalidInputError("add_data on a Table made from a dataframe", field="data")
        self._check_row(row, len(self.data))
        self.data.append(list(row))

    def to_arrow(self) -> Any:
        import pyarrow as pa

        if self._dataframe is not None:
            return pa.Table.from_pandas(self._dataframe, preserve_index=False)
        try:
            arrays = [pa.array([row[i] for row in self.data]) for i in range(len(self.columns))]
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InvalidInputError(f"Table cells of one column must share a type: {exc}") from exc
        return pa.Table.from_arrays(arrays, names=self.columns)

    def to_bytes(self) -> bytes:
        import pyarrow.parquet as pq

        buffer = io.BytesIO()
        pq.write_table(self.to_arrow(), buffer)
        return buffer.getvalue()

    def metadata(self) -> dict[str, Any]:
        return {"columns": self.columns}

    @classmethod
    def read(cls, data: bytes, metadata: dict[str, Any]) -> Any:
        import pyarrow.parquet as pq

        return pq.read_table(io.BytesIO(data))

"""mlcore-dask: the ``dask`` executor (entry point ``mlcore.executors:dask``)."""

from mlcore_dask.executor import DaskExecutor

__all__ = ["DaskExecutor"]

"""mlcore-kubernetes: the ``kubernetes`` executor (entry point ``mlcore.executors:kubernetes``)."""

from mlcore_kubernetes.executor import KubernetesExecutor, job_name

__all__ = ["KubernetesExecutor", "job_name"]

"""Lineage: the graph of runs, artifact versions and model versions around a starting point.

Edges: a run *produced* the artifact versions and model versions it logged; an artifact
version was *used* by the runs that consumed it. The graph holds the start's ancestors (edges
walked backwards from it: what it was made from) and its descendants (edges walked forwards:
what was made from it), each up to ``depth`` hops — not everything connected to it: a dataset
version a later run made from the same input never fed a model trained before, so it is not in
that model's lineage.
"""

from __future__ import annotations

import re
from collections import deque
from typing import TYPE_CHECKING

from mlcore.errors import NotFoundError
from mlcore.stores.model_refs import resolve_model_version

if TYPE_CHECKING:
    from mlcore.stores import MetadataStore
    from mlcore.types import ArtifactVersion, LineageGraph, ModelVersion

__all__ = ["lineage"]

_RUN_ID = re.compile(r"^(?:runs:/)?([0-9a-f]{32})/?$")


def lineage(store: MetadataStore, start: str, depth: int = 10) -> LineageGraph:
    """The lineage graph of ``start`` in ``store``: its ancestors and its descendants, up to
    ``depth`` hops each way."""
    from mlcore.types import LineageEdge, LineageGraph, LineageNode

    nodes: dict[str, LineageNode] = {}
    edges: set[tuple[str, str, str]] = set()

    def run_node(run_id: str) -> str:
        if run_id not in nodes:
            try:
                name = store.get_run(run_id).info.name
            except NotFoundError:
                name = "(deleted run)"
            nodes[run_id] = LineageNode(kind="run", id=run_id, label=name)
        return run_id

    def artifact_node(version: ArtifactVersion) -> str:
        node_id = version.qualified_name
        nodes.setdefault(
            node_id, LineageNode(kind="artifact", id=node_id, label=f"{node_id} ({version.type})")
        )
        return node_id

    def model_node(version: ModelVersion) -> str:
        node_id = version.uri
        nodes.setdefault(node_id, LineageNode(kind="model", id=node_id, label=node_id))
        return node_id

    match = _RUN_ID.match(start.strip())
    if match:
        root = run_node(store.get_run(match.group(1)).info.run_id)
    elif start.startswith("models:/"):
        root = model_node(resolve_model_version(store, start))
    else:
        root = artifact_node(store.get_artifact_version(start))

    def upstream(node_id: str) -> list[str]:
        """What ``node_id`` was made from (edges into it), recorded as edges."""
        node = nodes[node_id]
        found: list[str] = []
        if node.kind == "run":
            _produced, used = store.artifacts_of_run(node_id)
            for version in used:
                source = artifact_node(version)
                edges.add((source, node_id, "used"))
                found.append(source)
        elif node.kind == "artifact":
            version = store.get_artifact_version(node_id)
            producers, _consumers = store.artifact_runs(version.name, version.version)
            for producer in producers:
                edges.add((run_node(producer), node_id, "produced"))
                found.append(producer)
        else:
            model = resolve_model_version(store, node_id)
            if model.run_id:
                producer = run_node(model.run_id)
                edges.add((producer, node_id, "produced"))
                found.append(producer)
        return found

    def downstream(node_id: str) -> list[str]:
        """What was made from ``node_id`` (edges out of it), recorded as edges."""
        node = nodes[node_id]
        found: list[str] = []
        if node.kind == "run":
            produced, _used = store.artifacts_of_run(node_id)
            for version in produced:
                target = artifact_node(version)
                edges.add((node_id, target, "produced"))
                found.append(target)
            for model in store.model_versions_of_run(node_id):
                target = model_node(model)
                edges.add((node_id, target, "produced"))
                found.append(target)
        elif node.kind == "artifact":
            version = store.get_artifact_version(node_id)
            _producers, consumers = store.artifact_runs(version.name, version.version)
            for consumer in consumers:
                edges.add((node_id, run_node(consumer), "used"))
                found.append(consumer)
        return found  # nothing is recorded as made from a model version

    for step in (upstream, downstream):
        queue = deque([(root, 0)])
        seen = {root}
        while queue:
            node_id, hops = queue.popleft()
            if hops >= depth:
                continue
            for neighbour in step(node_id):
                if neighbour not in seen:
                    seen.add(neighbour)
                    queue.append((neighbour, hops + 1))
    return LineageGraph(
        root=root,
        nodes=sorted(nodes.values(), key=lambda n: (n.kind, n.id)),
        edges=[LineageEdge(source=s, target=t, relation=r) for s, t, r in sorted(edges)],
    )

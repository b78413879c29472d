"""Lineage: the graph of runs, artifact versions and model versions around a starting point.

Edges: a run *produced* the artifact versions and model versions it logged; an artifact
version was *used* by the runs that consumed it. From the start the graph is walked both ways
(upstream producers and downstream consumers) up to ``depth`` hops.
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
    """The lineage graph around ``start`` in ``store``, ``depth`` hops each way."""
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

    queue = deque([(root, 0)])
    seen = {root}
    while queue:
        node_id, hops = queue.popleft()
        if hops >= depth:
            continue
        neighbours: list[str] = []
        node = nodes[node_id]
        if node.kind == "run":
            produced, used = store.artifacts_of_run(node_id)
            for version in produced:
                target = artifact_node(version)
                edges.add((node_id, target, "produced"))
                neighbours.append(target)
            for version in used:
                source = artifact_node(version)
                edges.add((source, node_id, "used"))
                neighbours.append(source)
            for model in store.model_versions_of_run(node_id):
                target = model_node(model)
                edges.add((node_id, target, "produced"))
                neighbours.append(target)
        elif node.kind == "artifact":
            version = store.get_artifact_version(node_id)
            producers, consumers = store.artifact_runs(version.name, version.version)
            for producer in producers:
                run_node(producer)
                edges.add((producer, node_id, "produced"))
                neighbours.append(producer)
            for consumer in consumers:
                run_node(consumer)
                edges.add((node_id, consumer, "used"))
                neighbours.append(consumer)
        else:
            model = resolve_model_version(store, node_id)
            if model.run_id:
                producer = run_node(model.run_id)
                edges.add((producer, node_id, "produced"))
                neighbours.append(producer)
        for neighbour in neighbours:
            if neighbour not in seen:
                seen.add(neighbour)
                queue.append((neighbour, hops + 1))
    return LineageGraph(
        root=root,
        nodes=sorted(nodes.values(), key=lambda n: (n.kind, n.id)),
        edges=[LineageEdge(source=s, target=t, relation=r) for s, t, r in sorted(edges)],
    )

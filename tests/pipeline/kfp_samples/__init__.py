"""KFP pipelines the tests run under both kfp and mlcore (sources, read as text)."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent


def source(name: str, flavour: str) -> str:
    """The sample's source with the imports of ``flavour`` (``kfp`` or ``mlcore``)."""
    text = (HERE / f"{name}.py").read_text()
    if flavour == "mlcore":
        text = text.replace("from kfp import dsl", "from mlcore.pipeline import dsl")
        text = text.replace("from kfp.dsl import", "from mlcore.pipeline.dsl import")
    return text

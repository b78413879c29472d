"""``mlcore-model.yaml``: the manifest of a logged model directory.

It names the flavor, the framework and Python versions the model was saved with, the pip
requirements to load it, its signature and input example, and the sha256 of every file in the
directory. Loading verifies every hash before any file is deserialised.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlcore.errors import IntegrityError
from mlcore.flavors.signature import Signature

__all__ = ["FORMAT_VERSION", "MANIFEST", "ModelSpec"]

MANIFEST = "mlcore-model.yaml"
FORMAT_VERSION = 1


class ModelSpec(BaseModel):
    """The content of ``mlcore-model.yaml``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format_version: int = FORMAT_VERSION
    flavor: str
    flavor_options: dict[str, Any] = Field(default_factory=dict)
    framework: str | None = None
    framework_version: str | None = None
    mlcore_version: str
    python_version: str
    created: str
    signature: Signature | None = None
    input_example: str | None = None
    requirements: list[str] = Field(default_factory=list)
    files: dict[str, str] = Field(default_factory=dict)
    run_id: str | None = None
    artifact_path: str | None = None

    def to_yaml(self) -> bytes:
        import yaml

        data = self.model_dump(mode="json", exclude_none=True)
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when present
        text = yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True)
        return str(text).encode()

    @classmethod
    def from_yaml(cls, data: bytes, where: str) -> ModelSpec:
        import yaml

        try:
            raw = yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
            spec = cls.model_validate(raw)
        except (yaml.YAMLError, ValidationError, TypeError) as exc:
            raise IntegrityError(
                f"{where}: {MANIFEST} is not a valid model manifest: {exc}"
            ) from exc
        if spec.format_version > FORMAT_VERSION:
            raise IntegrityError(
                f"{where}: model format {spec.format_version} is newer than this mlcore "
                f"understands ({FORMAT_VERSION}); upgrade mlcore"
            )
        return spec

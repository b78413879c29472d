"""The model registry (services layer): the ``Registry`` client and ``models:/`` URIs."""

from mlcore.registry.model_uris import ModelRef, parse_model_ref, parse_models_uri
from mlcore.registry.registry import Registry

__all__ = ["ModelRef", "Registry", "parse_model_ref", "parse_models_uri"]

"""``models:/`` URIs: ``models:/name/3``, ``models:/name/Production``, ``models:/name/latest``,
``models:/name@alias``.

The parsing lives with the store (:mod:`mlcore.stores.model_refs`), where tracking and serving
reach it too; these names stay here for the registry's users.
"""

from mlcore.stores.model_refs import ModelRef, parse_model_ref, parse_models_uri

__all__ = ["ModelRef", "parse_model_ref", "parse_models_uri"]

"""Model flavors (SPI layer): save, load, run and export one framework's models.

Built-in flavors, each a plugin in the ``mlcore.flavors`` entry-point group: ``sklearn``,
``xgboost``, ``torch``, ``onnx``, ``python`` (any object with ``predict`` or a callable).

Modules: ``base`` (the Flavor ABC), ``spec`` (the ``mlcore-model.yaml`` manifest),
``signature`` (input schemas: inference and enforcement), ``package`` (saving and verified
loading of a model directory), ``discovery`` (finding a flavor by name or by object), and one
module per flavor.
"""

from mlcore.flavors.base import Flavor
from mlcore.flavors.discovery import detect_flavor, resolve_flavor
from mlcore.flavors.package import LoadedModel, load_model, read_spec, save_model
from mlcore.flavors.signature import ColumnSpec, Schema, Signature, TensorSpec, infer_signature
from mlcore.flavors.spec import MANIFEST, ModelSpec

__all__ = [
    "MANIFEST",
    "ColumnSpec",
    "Flavor",
    "LoadedModel",
    "ModelSpec",
    "Schema",
    "Signature",
    "TensorSpec",
    "detect_flavor",
    "infer_signature",
    "load_model",
    "read_spec",
    "resolve_flavor",
    "save_model",
]

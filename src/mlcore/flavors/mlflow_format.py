"""MLflow model directories (an ``MLmodel`` file): read, verified, and mapped onto mlcore's flavors.

An MLflow directory lists no hashes of its own, so what vouches for its files is the sha256 of
each file that mlcore recorded (:func:`mlflow_model_hashes` computes them; importing or
registering an MLflow model records them in the tracking store). :func:`read_mlflow_verified`
reads ``MLmodel`` and every file once, checks those bytes against the recorded hashes, and
returns a :class:`~mlcore.flavors.spec.ModelSpec` describing the model, the flavor that loads it
and its input example in mlcore's JSON form.

Flavors, first match wins: ``sklearn``, ``xgboost``, ``pytorch``, ``onnx``, then
``python_function`` with a ``python_model`` (``loader_module: mlflow.pyfunc.model``) or with
any other ``loader_module`` (code it names is imported: loaded only on opt-in). The signature's
column types map as ``boolean``/``integer``/``long``/``float``/``double``/``string``/``binary``/
``datetime`` -> ``bool``/``int32``/``int64``/``float32``/``float64``/``string``/``string``/
``datetime64[ns]``; a signature with optional columns, unnamed columns or nested types
(``array``, ``object``, ``map``) is kept out of enforcement (logged), as mlcore has no
equivalent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlcore.errors import IntegrityError, NotFoundError, UnsupportedError
from mlcore.flavors.base import Flavor
from mlcore.flavors.signature import ColumnSpec, Schema, Signature, TensorSpec
from mlcore.flavors.spec import ModelSpec
from mlcore.flavors.verified import VerifiedFiles

__all__ = [
    "MLMODEL",
    "MlflowModel",
    "is_mlflow_model",
    "mlflow_model_hashes",
    "read_mlflow_verified",
]

_log = logging.getLogger("mlcore.flavors")

MLMODEL = "MLmodel"

_COLUMN_TYPES = {
    "boolean": "bool",
    "integer": "int32",
    "long": "int64",
    "float": "float32",
    "double": "float64",
    "string": "string",
    "binary": "string",
    "datetime": "datetime64[ns]",
}


def is_mlflow_model(directory: str) -> bool:
    """Whether ``directory`` holds an MLflow model (an ``MLmodel`` file)."""
    return os.path.isfile(os.path.join(directory, MLMODEL))


def _walk(directory: str) -> list[str]:
    names = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            names.append(os.path.relpath(os.path.join(root, name), directory).replace(os.sep, "/"))
    return names


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def mlflow_model_hashes(directory: str) -> dict[str, str]:
    """The sha256 of every file of the MLflow model at ``directory`` (relative path -> hex),
    what mlcore records for it so that loading it later is verified."""
    if not is_mlflow_model(directory):
        raise NotFoundError(f"{directory!r} is not an MLflow model (no {MLMODEL})")
    digests = {}
    for name in _walk(directory):
        digest = hashlib.sha256()
        with open(os.path.join(directory, *name.split("/")), "rb") as handle:
            while chunk := handle.read(1024 * 1024):
                digest.update(chunk)
        digests[name] = digest.hexdigest()
    return digests


@dataclass(frozen=True)
class MlflowModel:
    """An MLflow model read and checked: its description, the flavor that loads it, whether
    that flavor imports code the model names, and its input example in mlcore's JSON form."""

    spec: ModelSpec
    flavor: Flavor
    runs_named_code: bool
    example: bytes | None


def read_mlflow_verified(
    directory: str,
    *,
    expected_files: Mapping[str, str] | None = None,
    expected_mlmodel_sha256: str | None = None,
) -> tuple[MlflowModel, VerifiedFiles]:
    """``MLmodel`` and the bytes of every file of ``directory``, each read once and checked
    against ``expected_files`` (relative path -> sha256) when given: a changed, missing or
    extra file is refused.

    Raises:
        NotFoundError: not an MLflow model directory.
        IntegrityError: a file does not match its recorded sha256, a recorded file is missing,
            a file was added, or ``MLmodel`` is malformed.
        UnsupportedError: no flavor mlcore loads.
    """
    if not is_mlflow_model(directory):
        raise NotFoundError(f"{directory!r} is not an MLflow model (no {MLMODEL})")
    files: dict[str, bytes] = {}
    for name in _walk(directory):
        files[name] = _read(os.path.join(directory, *name.split("/")))
    if expected_files is not None:
        for name, data in files.items():
            recorded = expected_files.get(name)
            if recorded is None:
                raise IntegrityError(
                    f"MLflow model file {name!r} in {directory!r} is not among the files "
                    "recorded for this model; refusing to load a directory that was added to"
                )
            if hashlib.sha256(data).hexdigest() != recorded:
                raise IntegrityError(
                    f"MLflow model file {name!r} in {directory!r} does not match the sha256 "
                    "recorded for it; refusing to load a file that was altered"
                )
        missing = sorted(set(expected_files) - set(files))
        if missing:
            raise IntegrityError(
                f"MLflow model file {missing[0]!r} recorded for the model is missing"
            )
    raw = files[MLMODEL]
    if (
        expected_mlmodel_sha256 is not None
        and hashlib.sha256(raw).hexdigest() != expected_mlmodel_sha256
    ):
        raise IntegrityError(
            f"{MLMODEL} in {directory!r} does not match the sha256 recorded for it; the model "
            "was altered"
        )
    verified = VerifiedFiles(files)
    model = _describe(raw, verified, directory)
    return model, verified


def _describe(raw: bytes, files: VerifiedFiles, where: str) -> MlflowModel:
    import yaml

    try:
        meta = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise IntegrityError(f"{where}: {MLMODEL} is not valid YAML: {exc}") from exc
    if not isinstance(meta, dict) or not isinstance(meta.get("flavors"), dict):
        raise IntegrityError(f"{where}: {MLMODEL} names no flavors")
    flavor, options, framework_version, runs_code = _flavor(meta["flavors"], files, where)
    pyfunc = meta["flavors"].get("python_function") or {}
    signature = _signature(meta.get("signature"), where)
    example_name, example = _example(meta, files, signature, where)
    requirements = files.get("requirements.txt", b"").decode("utf-8", "replace").splitlines()
    from mlcore._version import __version__

    spec = ModelSpec(
        flavor=flavor.name,
        flavor_options=options,
        framework=flavor.framework,
        framework_version=framework_version,
        mlcore_version=__version__,
        python_version=str(pyfunc.get("python_version") or platform.python_version()),
        created=str(
            meta.get("utc_time_created")
            or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        ),
        signature=signature,
        input_example=example_name,
        requirements=[r.strip() for r in requirements if r.strip() and not r.startswith("#")],
        files={name: hashlib.sha256(files[name]).hexdigest() for name in files},
        run_id=meta.get("run_id"),
        artifact_path=meta.get("artifact_path"),
    )
    return MlflowModel(spec, flavor, runs_code, example)


def _require(files: VerifiedFiles, name: Any, where: str) -> str:
    if not isinstance(name, str) or name not in files:
        raise IntegrityError(f"{where}: the model file {name!r} named in {MLMODEL} is missing")
    return name


def _flavor(
    flavors: dict[str, Any], files: VerifiedFiles, where: str
) -> tuple[Flavor, dict[str, Any], str | None, bool]:
    from mlcore.flavors import mlflow_flavors as mf
    from mlcore.flavors.onnx import OnnxFlavor
    from mlcore.flavors.xgboost import XGBoostFlavor

    if conf := flavors.get("sklearn"):
        fmt = conf.get("serialization_format", "cloudpickle")
        options = {
            "file": _require(files, conf.get("pickled_model"), where),
            "serialization": fmt,
            "predict_method": (flavors.get("python_function") or {}).get("predict_fn", "predict"),
        }
        if conf.get("skops_trusted_types"):
            options["skops_trusted_types"] = list(conf["skops_trusted_types"])
        return mf.MlflowSklearnFlavor(), options, conf.get("sklearn_version"), False
    if conf := flavors.get("xgboost"):
        model_class = str(conf.get("model_class", "xgboost.core.Booster")).rsplit(".", 1)[-1]
        options = {"file": _require(files, conf.get("data"), where), "model_type": model_class}
        return XGBoostFlavor(), options, conf.get("xgb_version"), False
    if conf := flavors.get("pytorch"):
        data = str(conf.get("model_data", "data"))
        if f"{data}/model.pth" in files:
            options = {"format": "pickle", "file": f"{data}/model.pth"}
        else:
            options = {"format": "pt2", "file": _require(files, f"{data}/model.pt2", where)}
        return mf.MlflowTorchFlavor(), options, conf.get("pytorch_version"), False
    if conf := flavors.get("onnx"):
        options = {"file": _require(files, conf.get("data", "model.onnx"), where), "output": 0}
        return OnnxFlavor(), options, conf.get("onnx_version"), False
    if conf := flavors.get("python_function"):
        loader = conf.get("loader_module")
        if loader == "mlflow.pyfunc.model" and conf.get("python_model"):
            artifacts = {
                str(key): str(value.get("path") if isinstance(value, dict) else value)
                for key, value in (conf.get("artifacts") or {}).items()
            }
            options = {
                "file": _require(files, conf["python_model"], where),
                "artifacts": artifacts,
                "model_config": conf.get("model_config") or {},
            }
            return mf.MlflowPythonModelFlavor(), options, None, False
        if isinstance(loader, str) and loader:
            options = {"loader_module": loader, "data": conf.get("data"), "code": conf.get("code")}
            return mf.MlflowLoaderModuleFlavor(), options, None, True
    raise UnsupportedError(
        f"{where}: mlcore loads MLflow models of the sklearn, xgboost, pytorch, onnx and "
        f"python_function flavors; this one has {', '.join(sorted(flavors)) or 'none'}"
    )


def _signature(raw: Any, where: str) -> Signature | None:
    if not isinstance(raw, dict) or not raw.get("inputs"):
        return None
    try:
        inputs = _schema(json.loads(raw["inputs"]))
        outputs = _schema(json.loads(raw["outputs"])) if raw.get("outputs") else None
    except (ValueError, TypeError, KeyError) as exc:
        _log.warning("%s: the MLflow signature is not enforced (%s)", where, exc)
        return None
    if inputs is None:
        _log.warning(
            "%s: the MLflow signature has optional, unnamed or nested columns, which mlcore "
            "does not enforce; inputs pass unchecked",
            where,
        )
        return None
    return Signature(inputs=inputs, outputs=outputs)


def _schema(specs: list[dict[str, Any]]) -> Schema | None:
    if specs and all(s.get("type") == "tensor" for s in specs):
        tensors = [
            TensorSpec(
                name=s.get("name"),
                dtype=_tensor_dtype(s["tensor-spec"]["dtype"]),
                shape=[int(d) for d in s["tensor-spec"]["shape"]],
            )
            for s in specs
        ]
        if len(tensors) == 1 and tensors[0].name is None:
            return Schema(kind="tensor", tensors=tensors)
        if any(t.name is None for t in tensors):
            return None
        return Schema(kind="tensors", tensors=tensors)
    columns = []
    for s in specs:
        dtype = _COLUMN_TYPES.get(str(s.get("type")))
        if dtype is None or not s.get("name") or s.get("required", True) is False:
            return None
        columns.append(ColumnSpec(name=str(s["name"]), dtype=dtype))
    return Schema(kind="columns", columns=columns)


def _tensor_dtype(name: str) -> str:
    import numpy as np

    dtype = np.dtype(name)
    return "string" if dtype.kind in "OUS" else str(dtype.name)


def _example(
    meta: dict[str, Any], files: VerifiedFiles, signature: Signature | None, where: str
) -> tuple[str | None, bytes | None]:
    from mlcore.flavors.package import encode_example

    info = meta.get("saved_input_example_info")
    if not isinstance(info, dict) or info.get("artifact_path") not in files:
        return None, None
    name = str(info["artifact_path"])
    try:
        data = json.loads(files[name])
        if info.get("params") is not None and isinstance(data, dict) and "inputs" in data:
            data = data["inputs"]
        kind = info.get("type")
        if kind == "dataframe":
            import pandas as pd

            if info.get("pandas_orient", "split") == "records":
                value: Any = pd.DataFrame.from_records(data)
            else:
                value = pd.DataFrame(data["data"], columns=data.get("columns"))
        elif kind == "ndarray":
            import numpy as np

            if isinstance(data, dict) and set(data) <= {"inputs", "instances"}:
                data = next(iter(data.values()))
            if isinstance(data, dict):
                value = {k: np.asarray(v) for k, v in data.items()}
            else:
                dtype = None
                if signature is not None and signature.inputs.kind == "tensor":
                    tensor = (signature.inputs.tensors or [])[0]
                    dtype = None if tensor.dtype == "string" else tensor.dtype
                value = np.asarray(data, dtype=dtype)
        elif kind == "json_object":
            value = data
        else:
            return None, None
        return name, json.dumps(encode_example(value)).encode()
    except (ValueError, TypeError, KeyError, ImportError) as exc:
        _log.warning("%s: the MLflow input example could not be read (%s)", where, exc)
        return None, None

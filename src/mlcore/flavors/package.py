"""Saving a model into a directory and loading it back, verified.

``save_model`` writes the flavor's files, the input example, ``requirements.txt`` and the
manifest (``mlcore-model.yaml``) with the sha256 of every file, into a temporary directory
that is renamed into place only when complete. ``load_model`` reads the manifest and every file
once, checks those bytes (the manifest against the hash the tracking store recorded, each file
against the manifest) and lets the flavor deserialise exactly the bytes it checked, never a
file reopened afterwards: a tampered or swapped pickle is refused, never executed. A model
without a recorded manifest hash (a plain path) loads only when the caller opts in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import platform
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

from mlcore.errors import IntegrityError, InvalidInputError, NotFoundError
from mlcore.flavors.base import Flavor
from mlcore.flavors.mlflow_format import is_mlflow_model, read_mlflow_verified
from mlcore.flavors.signature import Signature, enforce, infer_signature, to_batch
from mlcore.flavors.spec import MANIFEST, ModelSpec
from mlcore.flavors.verified import VerifiedFiles, read_verified, trust_unrecorded_from_env

__all__ = ["LoadedModel", "VerifiedFiles", "load_model", "read_spec", "save_model"]

_log = logging.getLogger("mlcore.flavors")

EXAMPLE_FILE = "input_example.json"
REQUIREMENTS_FILE = "requirements.txt"
_CHUNK = 1024 * 1024


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _mlcore_version() -> str:
    from mlcore._version import __version__

    return __version__


# -- input examples ------------------------------------------------------------------------------
def encode_example(example: Any) -> dict[str, Any]:
    """A JSON form of an input example that :func:`decode_example` turns back."""
    try:
        import pandas as pd
    except ImportError:
        pd = None
    if pd is not None and isinstance(example, pd.DataFrame):
        return {
            "type": "dataframe",
            "columns": [str(c) for c in example.columns],
            "dtypes": [str(t) for t in example.dtypes],
            "data": json.loads(example.to_json(orient="values", date_format="iso")),
        }
    if isinstance(example, Mapping):
        return {"type": "dict", "data": {str(k): _plain(v) for k, v in example.items()}}
    if isinstance(example, Sequence) and example and all(isinstance(r, Mapping) for r in example):
        return {
            "type": "records",
            "data": [{str(k): _plain(v) for k, v in r.items()} for r in example],
        }
    array = _array(example)
    return {"type": "ndarray", "dtype": str(array.dtype), "data": array.tolist()}


def _array(value: Any) -> Any:
    import numpy as np

    if hasattr(value, "detach") and hasattr(value, "numpy"):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "detach"):
        return _array(value).tolist()
    return value


def decode_example(data: dict[str, Any]) -> Any:
    kind = data.get("type")
    if kind == "dataframe":
        import pandas as pd

        frame = pd.DataFrame(data["data"], columns=data["columns"])
        for column, dtype in zip(data["columns"], data.get("dtypes", [])):
            try:
                frame[column] = frame[column].astype(dtype)
            except (TypeError, ValueError):
                pass
        return frame
    if kind == "ndarray":
        import numpy as np

        return np.asarray(data["data"], dtype=data.get("dtype"))
    if kind == "dict":
        import numpy as np

        return {k: np.asarray(v) for k, v in data["data"].items()}
    if kind == "records":
        return data["data"]
    raise IntegrityError(f"unknown input example type {kind!r}")


# -- saving ----------------------------------------------------------------------------------------
def save_model(
    obj: Any,
    path: str | os.PathLike[str],
    *,
    flavor: Flavor,
    input_example: Any = None,
    signature: Signature | None = None,
    requirements: Sequence[str] | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
    flavor_kwargs: Mapping[str, Any] | None = None,
) -> ModelSpec:
    """Save ``obj`` as a model directory at ``path`` (which must not exist yet).

    The signature is inferred from ``input_example`` (and the model's prediction on it) unless
    given. Nothing appears at ``path`` unless everything was written.
    """
    target = os.fspath(path)
    if os.path.exists(target):
        raise InvalidInputError(f"{target!r} already exists; models are saved to a new path")
    parent = os.path.dirname(os.path.abspath(target))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".mlcore-model-", dir=parent)
    try:
        options = flavor.save(obj, staging, **dict(flavor_kwargs or {}))
        example_file = None
        if input_example is not None:
            with open(os.path.join(staging, EXAMPLE_FILE), "w") as handle:
                json.dump(encode_example(input_example), handle, default=_plain)
            example_file = EXAMPLE_FILE
            if signature is None:
                output = None
                try:
                    output = flavor.predict(obj, to_batch(input_example), options)
                except Exception:  # inferring the output schema is best effort
                    output = None
                signature = infer_signature(input_example, output)
        pinned = sorted(set(requirements)) if requirements is not None else flavor.requirements()
        with open(os.path.join(staging, REQUIREMENTS_FILE), "w") as handle:
            handle.write("\n".join(pinned) + "\n")
        files = {}
        for directory, _, names in os.walk(staging):
            for name in names:
                full = os.path.join(directory, name)
                files[os.path.relpath(full, staging).replace(os.sep, "/")] = sha256_file(full)
        spec = ModelSpec(
            flavor=flavor.name,
            flavor_options=options,
            framework=flavor.framework,
            framework_version=flavor.framework_version(),
            mlcore_version=_mlcore_version(),
            python_version=platform.python_version(),
            created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            signature=signature,
            input_example=example_file,
            requirements=pinned,
            files=dict(sorted(files.items())),
            run_id=run_id,
            artifact_path=artifact_path,
        )
        with open(os.path.join(staging, MANIFEST), "wb") as handle:
            handle.write(spec.to_yaml())
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return spec


# -- loading ---------------------------------------------------------------------------------------
def read_spec(directory: str, *, expected_sha256: str | None = None) -> ModelSpec:
    """Read and check a model directory's manifest and every file it lists.

    Raises:
        NotFoundError: not a model directory.
        IntegrityError: the manifest or a file does not match its recorded sha256, or a listed
            file is missing.
    """
    manifest = os.path.join(directory, MANIFEST)
    if not os.path.isfile(manifest):
        raise NotFoundError(f"{directory!r} is not an mlcore model (no {MANIFEST})")
    with open(manifest, "rb") as handle:
        raw = handle.read()
    if expected_sha256 is not None and hashlib.sha256(raw).hexdigest() != expected_sha256:
        raise IntegrityError(
            f"model manifest in {directory!r} does not match the sha256 recorded when it was "
            "logged; the model was altered"
        )
    spec = ModelSpec.from_yaml(raw, directory)
    for name, digest in spec.files.items():
        full = os.path.join(directory, *name.split("/"))
        if ".." in name.split("/") or not os.path.isfile(full):
            raise IntegrityError(f"model file {name!r} listed in the manifest is missing")
        if sha256_file(full) != digest:
            raise IntegrityError(
                f"model file {name!r} does not match its sha256 in {MANIFEST}; refusing to load "
                "a file that was altered after the model was saved"
            )
    return spec


class LoadedModel:
    """A model loaded through its flavor, with a framework-independent ``predict``.

    ``predict`` accepts a DataFrame, an ndarray, a dict of arrays, a list of records or nested
    lists, checks it against the signature and returns an ndarray or a DataFrame.
    """

    def __init__(
        self,
        spec: ModelSpec,
        flavor: Flavor,
        native: Any,
        directory: str,
        *,
        example: bytes | None = None,
    ) -> None:
        self.spec = spec
        self.flavor = flavor
        self.native = native
        self.directory = directory
        self._example = example

    def __repr__(self) -> str:
        return f"<LoadedModel flavor={self.spec.flavor} framework={self.spec.framework}>"

    @property
    def signature(self) -> Signature | None:
        return self.spec.signature

    @property
    def input_example(self) -> Any:
        if self.spec.input_example is None:
            return None
        if self._example is not None:  # the bytes verified when the model was loaded
            return decode_example(json.loads(self._example))
        with open(os.path.join(self.directory, self.spec.input_example)) as handle:
            return decode_example(json.load(handle))

    def unwrap(self) -> Any:
        """The native framework object."""
        return self.native

    def prepare(self, data: Any) -> Any:
        """``data`` checked against the signature and converted for the flavor."""
        signature = self.spec.signature
        if signature is None:
            return to_batch(data)
        converted = enforce(data, signature.inputs)
        if signature.inputs.kind == "columns" and self.flavor.input_kind == "array":
            import numpy as np

            columns = [c.name for c in signature.inputs.columns or []]
            if hasattr(converted, "to_numpy"):
                return converted[columns].to_numpy()
            return np.column_stack([converted[c] for c in columns])
        return converted

    def predict(self, data: Any) -> Any:
        """Predictions for ``data`` (see the class docstring)."""
        output = self.flavor.predict(self.native, self.prepare(data), self.spec.flavor_options)
        if hasattr(output, "detach") and hasattr(output, "numpy"):
            output = output.detach().cpu().numpy()
        return output


def load_model(
    directory: str,
    *,
    expected_manifest_sha256: str | None = None,
    flavor: Flavor | None = None,
    trust_unrecorded: bool | None = None,
    expected_files: Mapping[str, str] | None = None,
) -> LoadedModel:
    """Load a model directory (mlcore's, or MLflow's: see below) after verifying it.

    The manifest and every file are read once; the manifest bytes are checked against
    ``expected_manifest_sha256`` (the hash the tracking store recorded when the model was
    logged), each file's bytes against the manifest, and the flavor deserialises those same
    bytes (or a private copy of them), never the files again. The flavor named in the manifest
    loads it unless ``flavor`` is given.

    Without ``expected_manifest_sha256`` nothing vouches for the manifest, so a model is loaded
    only with ``trust_unrecorded=True`` (or ``MLCORE_TRUST_UNRECORDED_MODELS=1`` when
    ``trust_unrecorded`` is None); a pickle-based flavor then logs a warning.

    An MLflow model directory (``MLmodel``, no mlcore manifest) is verified file by file
    against ``expected_files`` (relative path -> sha256, what mlcore recorded for it; see
    :mod:`mlcore.flavors.mlflow_format`); without them it needs the same opt-in, and a
    ``python_function`` model with a custom ``loader_module`` (which imports and runs the
    module it names) always does.

    Raises:
        NotFoundError: not a model directory.
        IntegrityError: a hash does not match, a listed file is missing, or no recorded hash
            vouches for the model and the caller did not opt in.
    """
    from mlcore.flavors.discovery import resolve_flavor

    trusted = trust_unrecorded if trust_unrecorded is not None else trust_unrecorded_from_env()
    if not os.path.isfile(os.path.join(directory, MANIFEST)) and is_mlflow_model(directory):
        return _load_mlflow(
            directory,
            expected_files=expected_files,
            expected_mlmodel_sha256=expected_manifest_sha256,
            flavor=flavor,
            trusted=trusted,
        )
    if expected_manifest_sha256 is None and not trusted:
        if not os.path.isfile(os.path.join(directory, MANIFEST)):
            raise NotFoundError(f"{directory!r} is not an mlcore model (no {MANIFEST})")
        raise IntegrityError(
            f"the model at {directory!r} has no recorded manifest sha256 (it was not loaded "
            "through runs:/ or models:/ of a tracking store), so nothing vouches for its files "
            "and loading it may run arbitrary code from a pickle; load it from the store that "
            "logged it, or opt in for a model you trust: load_model(..., "
            "trust_unrecorded=True), `mlcore serve --trust-unrecorded`, or "
            "MLCORE_TRUST_UNRECORDED_MODELS=1"
        )
    spec, files = read_verified(directory, expected_sha256=expected_manifest_sha256)
    try:
        chosen = flavor if flavor is not None else resolve_flavor(spec.flavor)
        if expected_manifest_sha256 is None and chosen.unpickles:
            _log.warning(
                "loading the unrecorded model at %r (%s flavor) on trust: it is unpickled, "
                "which runs any code the files hold; nothing checked them against a hash "
                "recorded by a tracking store",
                directory,
                chosen.name,
            )
        native = chosen.load_verified(files, spec.flavor_options)
    except BaseException:
        files.close()
        raise
    example = files.get(spec.input_example) if spec.input_example else None
    model = LoadedModel(spec, chosen, native, directory, example=example)
    files.release_with(model)
    return model


def _load_mlflow(
    directory: str,
    *,
    expected_files: Mapping[str, str] | None,
    expected_mlmodel_sha256: str | None,
    flavor: Flavor | None,
    trusted: bool,
) -> LoadedModel:
    """An MLflow model directory, verified against the hashes mlcore recorded for its files."""
    if expected_files is None and not trusted:
        raise IntegrityError(
            f"the MLflow model at {directory!r} was never recorded by mlcore (no sha256 of its "
            "files in a tracking store), so nothing vouches for its files and loading it may "
            "run arbitrary code from a pickle; import it with `mlcore import mlflow` and load "
            "it through runs:/ or models:/, or opt in for a model you trust: load_model(..., "
            "trust_unrecorded=True), `mlcore serve --trust-unrecorded`, or "
            "MLCORE_TRUST_UNRECORDED_MODELS=1"
        )
    model, files = read_mlflow_verified(
        directory, expected_files=expected_files, expected_mlmodel_sha256=expected_mlmodel_sha256
    )
    try:
        if model.runs_named_code and not trusted:
            options = model.spec.flavor_options
            raise IntegrityError(
                f"the MLflow model at {directory!r} is a python_function model with "
                f"loader_module {options.get('loader_module')!r}: loading it imports and runs "
                "that module, which no hash vouches for; opt in for a model you trust: "
                "load_model(..., trust_unrecorded=True), `mlcore serve --trust-unrecorded`, or "
                "MLCORE_TRUST_UNRECORDED_MODELS=1"
            )
        chosen = flavor if flavor is not None else model.flavor
        if expected_files is None and chosen.unpickles:
            _log.warning(
                "loading the unrecorded MLflow model at %r (%s flavor) on trust: it is "
                "unpickled, which runs any code the files hold; nothing checked them against a "
                "hash recorded by a tracking store",
                directory,
                chosen.name,
            )
        native = chosen.load_verified(files, model.spec.flavor_options)
    except BaseException:
        files.close()
        raise
    loaded = LoadedModel(model.spec, chosen, native, directory, example=model.example)
    files.release_with(loaded)
    return loaded

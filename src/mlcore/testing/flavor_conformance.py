"""``FlavorConformance``: what every model flavor must do, as pytest tests.

Provide a ``flavor_case`` fixture returning a :class:`FlavorCase`::

    class TestMyFlavor(FlavorConformance):
        @pytest.fixture
        def flavor_case(self):
            model = train_something()
            return FlavorCase(flavor="myflavor", model=model, example=X[:5], batch=X[:20])
"""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlcore.errors import IntegrityError, InvalidInputError
from mlcore.flavors import (
    MANIFEST,
    ModelSpec,
    detect_flavor,
    load_model,
    resolve_flavor,
    save_model,
)

__all__ = ["FlavorCase", "FlavorConformance"]


@dataclass
class FlavorCase:
    """A trained model of one flavor and inputs to exercise it.

    Attributes:
        flavor: the flavor key.
        model: the native model.
        example: an input example (stored with the model, defines the signature).
        batch: a larger input of the same kind for predictions.
        detect: whether ``detect_flavor(model)`` must pick this flavor.
    """

    flavor: str
    model: Any
    example: Any
    batch: Any
    detect: bool = True


class _Explode:
    """Unpickling this creates a marker file: proof that something was unpickled."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (self.marker, "w"))


def _predict_native(case: FlavorCase, model: Any) -> Any:
    import numpy as np

    flavor = resolve_flavor(case.flavor)
    output = flavor.predict(model, case.batch, {})
    return np.asarray(output)


class FlavorConformance:
    """Behaviour every flavor shares. Needs a ``flavor_case`` fixture."""

    @pytest.fixture
    def saved(self, flavor_case: FlavorCase, tmp_path: Path) -> tuple[Path, ModelSpec]:
        path = tmp_path / "model"
        spec = save_model(
            flavor_case.model,
            path,
            flavor=resolve_flavor(flavor_case.flavor),
            input_example=flavor_case.example,
        )
        return path, spec

    def test_detection(self, flavor_case: FlavorCase) -> None:
        if flavor_case.detect:
            assert detect_flavor(flavor_case.model).name == flavor_case.flavor

    def test_round_trip_predicts_the_same(
        self, flavor_case: FlavorCase, saved: tuple[Path, ModelSpec]
    ) -> None:
        import numpy as np

        path, _ = saved
        loaded = load_model(str(path), trust_unrecorded=True)
        expected = _predict_native(flavor_case, flavor_case.model)
        got = np.asarray(loaded.predict(flavor_case.batch))
        assert got.shape == expected.shape
        if expected.dtype.kind == "f":
            assert np.allclose(got, expected, rtol=1e-6, atol=1e-6)
        else:
            assert np.array_equal(got, expected)
        native_again = _predict_native(flavor_case, loaded.native)
        assert np.array_equal(np.asarray(native_again), np.asarray(got))

    def test_manifest_describes_the_model(
        self, flavor_case: FlavorCase, saved: tuple[Path, ModelSpec]
    ) -> None:
        import platform

        from mlcore._version import __version__

        path, spec = saved
        on_disk = ModelSpec.from_yaml((path / MANIFEST).read_bytes(), str(path))
        assert on_disk == spec
        assert spec.flavor == flavor_case.flavor
        assert spec.mlcore_version == __version__
        assert spec.python_version == platform.python_version()
        flavor = resolve_flavor(flavor_case.flavor)
        if flavor.framework:
            assert spec.framework_version
            assert any(r.startswith(flavor.framework + "==") for r in spec.requirements)
        assert spec.signature is not None
        assert spec.input_example == "input_example.json"
        files = {
            p.relative_to(path).as_posix()
            for p in path.rglob("*")
            if p.is_file() and p.name != MANIFEST
        }
        assert set(spec.files) == files
        for name, digest in spec.files.items():
            assert hashlib.sha256((path / name).read_bytes()).hexdigest() == digest
        assert (path / "requirements.txt").read_text().split() == spec.requirements

    def test_input_forms_agree(
        self, flavor_case: FlavorCase, saved: tuple[Path, ModelSpec]
    ) -> None:
        import numpy as np

        loaded = load_model(str(saved[0]), trust_unrecorded=True)
        batch = flavor_case.batch
        reference = np.asarray(loaded.predict(batch))
        forms: list[Any] = []
        if hasattr(batch, "to_numpy"):
            forms.append(batch.to_numpy())
            forms.append(batch.to_dict("records"))
            forms.append({c: batch[c].to_numpy() for c in batch.columns})
        elif isinstance(batch, np.ndarray):
            forms.append(batch.tolist())
        for form in forms:
            assert np.array_equal(np.asarray(loaded.predict(form)), reference)

    def test_wrong_input_is_a_clear_error(
        self, flavor_case: FlavorCase, saved: tuple[Path, ModelSpec]
    ) -> None:
        import numpy as np

        loaded = load_model(str(saved[0]), trust_unrecorded=True)
        batch = flavor_case.batch
        if hasattr(batch, "columns"):
            with pytest.raises(InvalidInputError, match="missing column"):
                loaded.predict(batch[batch.columns[1:]])
            with pytest.raises(InvalidInputError, match="unexpected column"):
                loaded.predict(batch.assign(bogus=1.0))
            text = batch.astype(str) if batch.dtypes.iloc[0].kind in "if" else batch
            if batch.dtypes.iloc[0].kind in "if":
                with pytest.raises(InvalidInputError, match=r"text|dtype"):
                    loaded.predict(text)
        else:
            array = np.asarray(batch)
            with pytest.raises(InvalidInputError, match="shape"):
                loaded.predict(array[:, :-1] if array.ndim > 1 else array.reshape(-1, 1, 1))
            with pytest.raises(InvalidInputError, match=r"dtype|text"):
                loaded.predict(array.astype(str))
        with pytest.raises(InvalidInputError):
            loaded.predict(None)

    def test_tampered_files_are_refused_before_loading(
        self, flavor_case: FlavorCase, saved: tuple[Path, ModelSpec], tmp_path: Path
    ) -> None:
        path, spec = saved
        marker = tmp_path / "pwned"
        victim = next(
            name for name in spec.files if name not in ("requirements.txt", "input_example.json")
        )
        (path / victim).write_bytes(pickle.dumps(_Explode(str(marker))))
        with pytest.raises(IntegrityError, match="sha256"):
            load_model(str(path), trust_unrecorded=True)
        assert not marker.exists()
        # an attacker who also rewrites the manifest is caught by the recorded manifest hash
        manifest = (path / MANIFEST).read_bytes()
        recorded = hashlib.sha256(manifest).hexdigest()
        forged = manifest.replace(
            spec.files[victim].encode(),
            hashlib.sha256((path / victim).read_bytes()).hexdigest().encode(),
        )
        (path / MANIFEST).write_bytes(forged)
        with pytest.raises(IntegrityError, match="manifest"):
            load_model(str(path), expected_manifest_sha256=recorded)
        assert not marker.exists()

    def test_missing_file_is_refused(
        self, flavor_case: FlavorCase, saved: tuple[Path, ModelSpec]
    ) -> None:
        path, spec = saved
        os.remove(path / next(iter(spec.files)))
        with pytest.raises(IntegrityError, match="missing"):
            load_model(str(path), trust_unrecorded=True)

    def test_saving_over_an_existing_path_is_refused(
        self, flavor_case: FlavorCase, saved: tuple[Path, ModelSpec]
    ) -> None:
        path, _ = saved
        before = sorted(p.name for p in path.iterdir())
        with pytest.raises(InvalidInputError, match="already exists"):
            save_model(flavor_case.model, path, flavor=resolve_flavor(flavor_case.flavor))
        assert sorted(p.name for p in path.iterdir()) == before

    def test_input_example_round_trips(
        self, flavor_case: FlavorCase, saved: tuple[Path, ModelSpec]
    ) -> None:
        import numpy as np

        loaded = load_model(str(saved[0]), trust_unrecorded=True)
        example = loaded.input_example
        original = flavor_case.example
        if hasattr(original, "to_numpy"):
            assert list(example.columns) == list(original.columns)
            assert np.allclose(example.to_numpy(dtype=float), original.to_numpy(dtype=float))
        else:
            assert np.allclose(np.asarray(example, dtype=float), np.asarray(original, dtype=float))
        assert np.asarray(loaded.predict(example)).shape[0] == len(original)

"""Model loading verifies and deserialises the same bytes, and trusts no unrecorded manifest."""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import stat
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import mlcore
from mlcore.errors import IntegrityError, NotFoundError
from mlcore.flavors import MANIFEST, Flavor, load_model, resolve_flavor, save_model
from mlcore.flavors.python import MODEL_FILE
from tests.model_attacks import Malicious, double


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, str]:
    """A python-flavor model and the sha256 of its manifest (what a store records)."""
    path = tmp_path / "model"
    save_model(double, path, flavor=resolve_flavor("python"))
    return path, hashlib.sha256((path / MANIFEST).read_bytes()).hexdigest()


def test_a_file_swapped_while_loading_never_runs(saved: tuple[Path, str], tmp_path: Path) -> None:
    """An attacker swapping the model file for a malicious pickle in a tight loop while the
    model is loaded again and again: every load gives the genuine model or an IntegrityError,
    and the malicious pickle never runs (it did when the file was hashed, then reopened)."""
    path, recorded = saved
    marker = tmp_path / "pwned"
    victim = path / MODEL_FILE
    genuine = tmp_path / "genuine.pkl"
    evil = tmp_path / "evil.pkl"
    os.link(victim, genuine)
    evil.write_bytes(pickle.dumps(Malicious(str(marker))))
    stop = threading.Event()

    def attacker() -> None:
        spare = str(victim) + ".swap"
        while not stop.is_set():
            for source in (evil, genuine):
                os.link(source, spare)
                os.replace(spare, victim)

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often: the window is a few bytecodes wide
    thread = threading.Thread(target=attacker, daemon=True)
    thread.start()
    outcomes = {"loaded": 0, "refused": 0}
    refusals: set[str] = set()
    deadline = time.monotonic() + 20
    try:
        for _ in range(300):
            if marker.exists() or time.monotonic() > deadline:
                break
            try:
                model = load_model(str(path), expected_manifest_sha256=recorded)
            except IntegrityError as exc:
                refusals.add(str(exc).split(";")[0])
                outcomes["refused"] += 1
            else:
                if marker.exists():
                    break
                assert model.predict([1, 2]) == [2, 4]
                outcomes["loaded"] += 1
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(previous)
    assert not marker.exists(), f"the malicious pickle ran after {outcomes}"
    assert outcomes["loaded"] + outcomes["refused"] > 0
    assert refusals <= {f"model file {MODEL_FILE!r} does not match its sha256 in {MANIFEST}"}


def test_a_forged_file_with_a_forged_manifest_is_refused(
    saved: tuple[Path, str], tmp_path: Path
) -> None:
    path, recorded = saved
    marker = tmp_path / "pwned"
    evil = pickle.dumps(Malicious(str(marker)))
    manifest = (path / MANIFEST).read_bytes()
    genuine = hashlib.sha256((path / MODEL_FILE).read_bytes()).hexdigest()
    (path / MODEL_FILE).write_bytes(evil)
    forged = manifest.replace(genuine.encode(), hashlib.sha256(evil).hexdigest().encode())
    (path / MANIFEST).write_bytes(forged)
    with pytest.raises(IntegrityError, match="manifest"):
        load_model(str(path), expected_manifest_sha256=recorded)
    assert not marker.exists()


class _PathFlavor(Flavor):
    """A flavor whose library loads from a path (the default ``load_verified``)."""

    name = "python"
    seen: list[tuple[str, int]] = []

    @classmethod
    def can_save(cls, obj: Any) -> bool:
        return True

    def save(self, obj: Any, directory: str, **options: Any) -> dict[str, Any]:
        raise NotImplementedError

    def load(self, directory: str, options: dict[str, Any]) -> Any:
        import cloudpickle

        self.seen.append((directory, stat.S_IMODE(os.stat(directory).st_mode)))
        with open(os.path.join(directory, options["file"]), "rb") as handle:
            return cloudpickle.load(handle)

    def predict(self, native: Any, data: Any, options: dict[str, Any]) -> Any:
        return native(data)


def test_a_path_loading_flavor_gets_a_private_copy_never_the_original(
    saved: tuple[Path, str],
) -> None:
    path, recorded = saved
    flavor = _PathFlavor()
    model = load_model(str(path), expected_manifest_sha256=recorded, flavor=flavor)
    assert model.predict([3]) == [6]
    directory, mode = flavor.seen[-1]
    assert os.path.realpath(directory) != os.path.realpath(path)
    assert mode == 0o700
    del model
    import gc

    gc.collect()
    assert not os.path.exists(directory)  # removed with the loaded model


def test_an_unrecorded_model_needs_an_explicit_opt_in(
    saved: tuple[Path, str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path, _ = saved
    monkeypatch.delenv("MLCORE_TRUST_UNRECORDED_MODELS", raising=False)
    for load in (lambda: load_model(str(path)), lambda: mlcore.load_model(path.as_uri())):
        with pytest.raises(IntegrityError, match="trust_unrecorded=True") as refused:
            load()
        assert "MLCORE_TRUST_UNRECORDED_MODELS=1" in str(refused.value)
        assert "--trust-unrecorded" in str(refused.value)
    with pytest.raises(NotFoundError, match="not an mlcore model"):
        load_model(str(path.parent))  # not a model at all says so first
    with caplog.at_level(logging.WARNING, logger="mlcore.flavors"):
        assert mlcore.load_model(str(path), trust_unrecorded=True).predict([1]) == [2]
    assert any("unpickled" in r.getMessage() for r in caplog.records)
    monkeypatch.setenv("MLCORE_TRUST_UNRECORDED_MODELS", "1")
    assert load_model(str(path)).predict([2]) == [4]
    # an explicit False wins over the environment
    with pytest.raises(IntegrityError, match="no recorded manifest sha256"):
        load_model(str(path), trust_unrecorded=False)


def test_a_recorded_model_loads_without_a_warning(
    saved: tuple[Path, str], caplog: pytest.LogCaptureFixture
) -> None:
    path, recorded = saved
    with caplog.at_level(logging.WARNING, logger="mlcore.flavors"):
        assert load_model(str(path), expected_manifest_sha256=recorded).predict([1]) == [2]
    assert not caplog.records


def test_a_logged_model_loads_verified_without_an_opt_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MLCORE_TRUST_UNRECORDED_MODELS", raising=False)
    with mlcore.start_run():
        info = mlcore.log_model(double, "model", flavor="python")
    assert mlcore.load_model(info.model_uri).predict([5]) == [10]


def test_serve_refuses_an_unrecorded_model_unless_trusted(
    saved: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlcore.cli import main
    from mlcore.server import Server
    from mlcore.serving.runtime import ServedModel

    path, _ = saved
    monkeypatch.setenv("MLCORE_TRUST_UNRECORDED_MODELS", "0")
    with pytest.raises(IntegrityError, match="--trust-unrecorded"):
        ServedModel.load(str(path), accelerate="off")
    assert ServedModel.load(str(path), accelerate="off", trust_unrecorded=True).loaded.predict(
        [1]
    ) == [2]
    served: list[str] = []
    monkeypatch.setattr(Server, "run", lambda self, **kw: served.append(str(kw["port"])))
    assert main(["serve", str(path), "--port", "0", "--no-batching"]) != 0
    assert served == []
    assert main(["serve", str(path), "--port", "0", "--no-batching", "--trust-unrecorded"]) == 0
    assert served == ["0"]

"""Models logged and registered once per module, and apps serving them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from starlette.testclient import TestClient

from mlcore.registry import Registry
from mlcore.serving import create_app
from mlcore.tracking import Tracker

FEATURES = [f"f{i}" for i in range(6)]


def training_frame(rows: int = 600, seed: int = 0) -> Any:
    from sklearn.datasets import make_classification

    x, y = make_classification(rows, len(FEATURES), n_informative=4, random_state=seed)
    return pd.DataFrame(x, columns=FEATURES), y


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A store with `forest` (an even, 40-tree forest: many 50/50 votes), `logit` and
    `ridge` (a regressor), each registered as version 1 with alias `champion`."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression, Ridge

    home: Path = tmp_path_factory.mktemp("serving")
    uri = str(home / "store")
    frame, y = training_frame()
    models = {
        "forest": RandomForestClassifier(40, random_state=0).fit(frame, y),
        "logit": LogisticRegression(max_iter=500).fit(frame, y),
        "ridge": Ridge().fit(frame, frame["f0"] * 2.5 + y),
    }
    with Tracker(uri) as tracker:
        registry = Registry(tracker=tracker)
        for name, model in models.items():
            run = tracker.start_run("train")
            tracker.log_model(
                run.info.run_id, model, "model", input_example=frame.iloc[:5],
                registered_model_name=name,
            )  # fmt: skip
            tracker.end_run(run.info.run_id)
            registry.set_alias(name, "champion", 1)
    return {"uri": uri, "models": models, "frame": frame}


@pytest.fixture
def tracking_env(store: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("MLCORE_TRACKING_URI", store["uri"])
    return store


def predicted(store: dict[str, Any], model: str, rows: Any) -> list[Any]:
    """What the model ``model`` of the store predicts for ``rows``, called directly."""
    return store["models"][model].predict(rows).tolist()


#: where the test client's requests come from: a loopback address, as a local client's would
#: (without tokens the app serves loopback clients only; TestClient's default is "testclient")
LOOPBACK_CLIENT = ("127.0.0.1", 50000)


def client_for(uri: str, store: dict[str, Any], **options: Any) -> TestClient:
    app = create_app(uri, tracking_uri=store["uri"], **options)
    return TestClient(app, client=LOOPBACK_CLIENT, base_url="http://localhost")

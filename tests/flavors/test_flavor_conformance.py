"""Every built-in flavor runs the FlavorConformance suite, on real frameworks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlcore.testing.flavor_conformance import FlavorCase, FlavorConformance


@pytest.fixture(scope="module")
def iris() -> tuple[pd.DataFrame, pd.Series]:
    from sklearn.datasets import load_iris

    frame, target = load_iris(return_X_y=True, as_frame=True)
    return frame, target


class TestSklearnClassifier(FlavorConformance):
    @pytest.fixture
    def flavor_case(self, iris: tuple[pd.DataFrame, pd.Series]) -> FlavorCase:
        from sklearn.ensemble import RandomForestClassifier

        X, y = iris
        model = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
        return FlavorCase("sklearn", model, X[:5], X[:40])


class TestSklearnPipelineOnArrays(FlavorConformance):
    @pytest.fixture
    def flavor_case(self, iris: tuple[pd.DataFrame, pd.Series]) -> FlavorCase:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        X, y = iris
        array = X.to_numpy()
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(array, y)
        return FlavorCase("sklearn", model, array[:5], array[:40])


class TestXGBoostSklearnApi(FlavorConformance):
    @pytest.fixture
    def flavor_case(self, iris: tuple[pd.DataFrame, pd.Series]) -> FlavorCase:
        import xgboost

        X, y = iris
        model = xgboost.XGBClassifier(n_estimators=8, max_depth=3, n_jobs=2).fit(X, y)
        return FlavorCase("xgboost", model, X[:5], X[:40])


class TestXGBoostBooster(FlavorConformance):
    @pytest.fixture
    def flavor_case(self, iris: tuple[pd.DataFrame, pd.Series]) -> FlavorCase:
        import xgboost

        X, y = iris
        booster = xgboost.train(
            {"objective": "reg:squarederror", "nthread": 2}, xgboost.DMatrix(X, y), 8
        )
        return FlavorCase("xgboost", booster, X[:5], X[:40])


def _net() -> object:
    import torch

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.hidden = torch.nn.Linear(4, 16)
            self.out = torch.nn.Linear(16, 3)
            self.register_buffer("scale", torch.tensor(0.5))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.out(torch.relu(self.hidden(x * self.scale)))

    torch.manual_seed(0)
    return Net().eval()


class TestTorchStateDict(FlavorConformance):
    @pytest.fixture
    def flavor_case(self, iris: tuple[pd.DataFrame, pd.Series]) -> FlavorCase:
        X = iris[0].to_numpy(dtype=np.float32)
        return FlavorCase("torch", _net(), X[:5], X[:40])


class TestTorchScript(FlavorConformance):
    @pytest.fixture
    def flavor_case(self, iris: tuple[pd.DataFrame, pd.Series]) -> FlavorCase:
        import torch

        X = iris[0].to_numpy(dtype=np.float32)
        return FlavorCase("torch", torch.jit.script(_net()), X[:5], X[:40])


class TestOnnx(FlavorConformance):
    @pytest.fixture
    def flavor_case(self, iris: tuple[pd.DataFrame, pd.Series]) -> FlavorCase:
        from sklearn.linear_model import LogisticRegression

        from mlcore.onnx import export

        X, y = iris
        array = X.to_numpy(dtype=np.float32)
        proto = export(LogisticRegression(max_iter=500).fit(array, y), array[:10])
        return FlavorCase("onnx", proto, array[:5], array[:40])


class ScaledSum:
    """A hand-written model: anything with predict() is a python-flavor model."""

    def __init__(self, factor: float) -> None:
        self.factor = factor

    def predict(self, data: pd.DataFrame) -> np.ndarray:
        return np.asarray(data.sum(axis=1) * self.factor)


class TestPythonObject(FlavorConformance):
    @pytest.fixture
    def flavor_case(self, iris: tuple[pd.DataFrame, pd.Series]) -> FlavorCase:
        X = iris[0]
        return FlavorCase("python", ScaledSum(2.0), X[:5], X[:40])


class TestPythonCallable(FlavorConformance):
    @pytest.fixture
    def flavor_case(self, iris: tuple[pd.DataFrame, pd.Series]) -> FlavorCase:
        X = iris[0].to_numpy()
        offset = 3.0
        return FlavorCase("python", lambda a: a.max(axis=1) + offset, X[:5], X[:40])

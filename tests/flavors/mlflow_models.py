"""MLflow model directories written by the real ``mlflow`` package (its own virtualenv), with
MLflow's own predictions on the same inputs, for the tests of loading them in mlcore."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.peers import run_peer

#: what each model is fed: the DataFrame ("frame") or the float32 array ("array")
INPUTS = {
    "sklearn_skops": "frame",
    "sklearn_cloudpickle": "frame",
    "xgboost": "frame",
    "pytorch_pickle": "array",
    "pytorch_pt2": "array",
    "onnx": "array",
    "pyfunc": "frame",
}

_SCRIPT = """
import json, os, sys, io
import numpy as np, pandas as pd
import mlflow, mlflow.sklearn, mlflow.xgboost, mlflow.pyfunc, mlflow.pytorch, mlflow.onnx
import onnx, torch, xgboost as xgb
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression

out = sys.argv[1] if len(sys.argv) > 1 else os.environ["OUT"]
rng = np.random.default_rng(0)
frame = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
array = frame.to_numpy(dtype=np.float32)
y = (frame["a"] + frame["b"] > 0).astype(int)

sk = LogisticRegression().fit(frame, y)
sig = infer_signature(frame, sk.predict(frame))
mlflow.sklearn.save_model(sk, f"{out}/sklearn_skops", signature=sig, input_example=frame.head(3))
mlflow.sklearn.save_model(sk, f"{out}/sklearn_cloudpickle", signature=sig,
                          input_example=frame.head(3), serialization_format="cloudpickle")
xg = xgb.XGBClassifier(n_estimators=5, max_depth=2).fit(frame, y)
mlflow.xgboost.save_model(xg, f"{out}/xgboost", signature=infer_signature(frame, xg.predict(frame)),
                          input_example=frame.head(3))

torch.manual_seed(0)
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(3, 2)
    def forward(self, x):
        return torch.tanh(self.layer(x))
net = Net().eval()
with torch.no_grad():
    tsig = infer_signature(array, net(torch.from_numpy(array)).numpy())
mlflow.pytorch.save_model(net, f"{out}/pytorch_pickle", signature=tsig, input_example=array[:2],
                          serialization_format="pickle")
mlflow.pytorch.save_model(net, f"{out}/pytorch_pt2", signature=tsig, input_example=array[:2])
buffer = io.BytesIO()
torch.onnx.export(net, (torch.from_numpy(array),), buffer, input_names=["x"], output_names=["y"],
                  dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, dynamo=False)
mlflow.onnx.save_model(onnx.load_from_string(buffer.getvalue()), f"{out}/onnx", signature=tsig,
                       input_example=array[:2])

class Scaled(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        with open(context.artifacts["factor"]) as handle:
            self.factor = float(handle.read())
    def predict(self, context, model_input, params=None):
        return model_input * self.factor
with open(f"{out}/factor.txt", "w") as handle:
    handle.write("2.5")
mlflow.pyfunc.save_model(f"{out}/pyfunc", python_model=Scaled(),
                         artifacts={"factor": f"{out}/factor.txt"},
                         signature=infer_signature(frame, frame * 2.5), input_example=frame.head(2))

with open(f"{out}/custom_loader.py", "w") as handle:
    handle.write(
        "class _Model:\\n"
        "    def __init__(self, path):\\n"
        "        self.offset = float(open(path).read())\\n"
        "    def predict(self, data):\\n"
        "        return data + self.offset\\n"
        "def _load_pyfunc(path):\\n"
        "    return _Model(path)\\n"
    )
with open(f"{out}/offset.txt", "w") as handle:
    handle.write("1.5")
mlflow.pyfunc.save_model(f"{out}/custom", loader_module="custom_loader",
                         data_path=f"{out}/offset.txt", code_paths=[f"{out}/custom_loader.py"])

predictions = {}
inputs = {"frame": frame, "array": array}
for name, kind in json.loads(os.environ["INPUTS"]).items():
    result = mlflow.pyfunc.load_model(f"{out}/{name}").predict(inputs[kind])
    if isinstance(result, dict):
        result = next(iter(result.values()))
    predictions[name] = np.asarray(result).tolist()
json.dump({"frame": frame.to_numpy().tolist(), "predictions": predictions},
          open(f"{out}/expected.json", "w"))
print(json.dumps({"ok": True}))
"""


def write_mlflow_models(directory: Path) -> dict[str, Any]:
    """Save every MLflow model under ``directory`` with mlflow, and return the inputs and
    mlflow's predictions (``{"frame": rows, "predictions": {model: list}}``)."""
    run_peer(
        "mlflow",
        _SCRIPT,
        env={
            "OUT": str(directory),
            "INPUTS": json.dumps(INPUTS),
            "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true",
        },
    )
    expected: dict[str, Any] = json.loads((directory / "expected.json").read_text())
    return expected

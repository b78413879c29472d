"""Expected results from the real KFP SDK: run a sample under ``kfp.local`` in kfp's own
virtualenv and read each task's outputs back, named as mlcore names steps (``square[0]``
for the first iteration of a ``ParallelFor``)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.peers import run_peer
from tests.pipeline.kfp_samples import source

_RUNNER = """
import glob, json, os, sys, warnings
warnings.simplefilter("ignore")
from kfp import local
root = {root!r}
local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=root)
import runpy
os.makedirs(root, exist_ok=True)
with open(os.path.join(root, "sample.py"), "w") as handle:
    handle.write({code!r})
namespace = runpy.run_path(os.path.join(root, "sample.py"), run_name="kfp_sample")
error = None
try:
    namespace[{pipeline!r}](**{arguments!r})
except Exception as exc:
    error = str(exc)[:200]
outputs = {{}}
for path in glob.glob(os.path.join(root, "*", "**", "executor_output.json"), recursive=True):
    relative = os.path.relpath(os.path.dirname(path), root).split(os.sep)[1:]
    with open(path) as handle:
        data = json.load(handle)
    values = data.get("parameterValues", {{}})
    for name in os.listdir(os.path.dirname(path)):  # OutputPath parameters: their files
        full = os.path.join(os.path.dirname(path), name)
        if name != "executor_output.json" and os.path.isfile(full) and name not in values:
            text = open(full).read()
            try:
                values[name] = json.loads(text)
            except ValueError:
                values[name] = text
    outputs["/".join(relative)] = values
print(json.dumps({{"outputs": outputs, "error": error}}))
"""


def kfp_local_outputs(
    sample: str, pipeline: str, arguments: dict[str, Any], root: Path
) -> dict[str, dict[str, Any]]:
    """``{step: {output: value}}`` of the tasks kfp.local ran (succeeded or not)."""
    return kfp_local_outputs_of(source(sample, "kfp"), pipeline, arguments, root)


def kfp_local_outputs_of(
    code: str, pipeline: str, arguments: dict[str, Any], root: Path
) -> dict[str, dict[str, Any]]:
    """As :func:`kfp_local_outputs`, of KFP source ``code`` defining ``pipeline``."""
    script = _RUNNER.format(root=str(root), code=code, pipeline=pipeline, arguments=arguments)
    found = run_peer("kfp", script)
    named: dict[str, dict[str, Any]] = {}
    for path, values in found["outputs"].items():
        parts = path.split("/")
        match = re.fullmatch(r"for-loop-\d+-iteration-(\d+)", parts[0])
        name = f"{parts[-1]}[{match.group(1)}]" if match and len(parts) == 2 else parts[-1]
        named[name] = values
    return named


def as_json(value: Any) -> Any:
    """KFP passes numbers through protobuf (ints come back as floats): compare as JSON."""
    return json.loads(json.dumps(value), parse_float=lambda text: float(text))


_COMPILE = """
import os, runpy, warnings
warnings.simplefilter("ignore")
from kfp import compiler
path = {path!r}
with open(path + ".py", "w") as handle:
    handle.write({code!r})
namespace = runpy.run_path(path + ".py", run_name="kfp_sample")
compiler.Compiler().compile(namespace[{pipeline!r}], path)
print("{{}}")
"""


def kfp_compile(code: str, pipeline: str, path: Path) -> Path:
    """Compile ``pipeline`` of ``code`` (KFP source) to IR YAML at ``path`` with kfp."""
    run_peer("kfp", _COMPILE.format(path=str(path), code=code, pipeline=pipeline))
    return path

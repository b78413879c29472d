"""Components and pipelines the pipeline tests run (importable, so worker processes find
them). ``where`` arguments name a directory where a component records that it ran."""

from __future__ import annotations

import json
import os
import threading
import time
from typing import NamedTuple

import mlcore
from mlcore.pipeline import (
    Dataset,
    Input,
    Metrics,
    Model,
    Output,
    PipelineStatus,
    component,
    exit_handler,
    for_each,
    pipeline,
    when,
)


def record(where: str, name: str, **details: object) -> None:
    """Append one line (pid, time, details) to ``where/name``."""
    if not where:
        return
    with open(os.path.join(where, name), "a") as handle:
        handle.write(json.dumps({"pid": os.getpid(), "time": time.time(), **details}) + "\n")


def runs_of(where: str, name: str) -> list[dict[str, object]]:
    path = os.path.join(where, name)
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        return [json.loads(line) for line in handle]


# -- data passing ------------------------------------------------------------------------------
@component
def make_data(rows: int, data: Output[Dataset], where: str = "") -> int:
    """Write ``rows`` CSV lines ``i,i*i``."""
    record(where, "make_data")
    data.write_text("\n".join(f"{i},{i * i}" for i in range(rows)))
    print(f"wrote {rows} rows")
    return rows


class Stats(NamedTuple):
    total: int
    mean: float


@component
def summarize(data: Input[Dataset], report: Output[Metrics], where: str = "") -> Stats:
    record(where, "summarize")
    values = [int(line.split(",")[1]) for line in data.read_text().splitlines()]
    mlcore.log_metric("rows", len(values))
    report.log_metric("total", sum(values))
    return Stats(sum(values), sum(values) / len(values))


@component
def train(data: Input[Dataset], model: Output[Model], lr: float = 0.1, where: str = "") -> float:
    record(where, "train", lr=lr)
    rows = len(data.read_text().splitlines())
    os.makedirs(model.path)
    with open(os.path.join(model.path, "weights.txt"), "w") as handle:
        handle.write(f"lr={lr} rows={rows}")
    for step in range(3):
        mlcore.log_metric("loss", 1.0 / (step + 1), step=step)
    return round(0.9 - lr / 10, 4)


@component
def evaluate(model: Input[Model], accuracy: float, threshold: float = 0.5) -> bool:
    with open(os.path.join(model.path, "weights.txt")) as handle:
        assert handle.read().startswith("lr=")
    return accuracy >= threshold


@pipeline
def training(rows: int = 10, lr: float = 0.1, where: str = ""):
    """Preprocess, train, evaluate: the seed pipeline."""
    d = make_data(rows=rows, where=where)
    summarize(data=d.outputs["data"], where=where)
    t = train(data=d.outputs["data"], lr=lr, where=where)
    evaluate(model=t.outputs["model"], accuracy=t.output)


# -- failures ----------------------------------------------------------------------------------
@component
def boom(message: str) -> int:
    print("about to fail")
    raise ValueError(message)


@component
def double(x: int) -> int:
    return 2 * x


@component
def echo(text: str) -> str:
    return text


@component
def sleeper(seconds: float, where: str = "") -> float:
    record(where, "sleeper-start")
    time.sleep(seconds)
    record(where, "sleeper-end")
    return seconds


@component(retries=2, retry_backoff=0.05)
def flaky(where: str, fail_times: int) -> str:
    attempt = len(runs_of(where, "flaky"))
    record(where, "flaky")
    print(f"attempt {attempt + 1}")
    if attempt < fail_times:
        raise RuntimeError(f"flaky failure {attempt + 1}")
    return "ok"


@component(timeout=1.0)
def hang(seconds: float) -> int:
    time.sleep(seconds)
    return 1


@component(retries=1, retry_backoff=0.05)
def die_once(where: str) -> int:
    first = not runs_of(where, "die_once")
    record(where, "die_once")
    if first:
        os._exit(3)
    return 7


@component(retries=3, retry_backoff=0.05)
def always_dies() -> int:
    os._exit(9)


@component
def notify(status: PipelineStatus, where: str = "") -> str:
    record(where, "notify", state=status.state, failed=status.failed_steps)
    return status.state


@pipeline
def branches(message: str = "bad"):
    b = boom(message=message)
    double(x=b.output)
    fine = echo(text="fine")
    echo(text="after").after(fine)


@pipeline
def slow_branches(seconds: float = 10.0):
    boom(message="fails fast")
    sleeper(seconds=seconds)


@pipeline
def guarded(message: str = "x", where: str = ""):
    n = notify(where=where)
    with exit_handler(n):
        b = boom(message=message)
        double(x=b.output)


@pipeline
def guarded_ok(where: str = ""):
    n = notify(where=where)
    with exit_handler(n):
        echo(text="fine")


@pipeline
def retrying(where: str, fail_times: int = 2):
    flaky(where=where, fail_times=fail_times)


@pipeline
def hanging(seconds: float = 30.0):
    hang(seconds=seconds)
    echo(text="independent")


@pipeline
def crashing(where: str):
    die_once(where=where)


@pipeline
def always_crashing():
    always_dies()


@pipeline
def sleeping(seconds: float = 60.0, where: str = ""):
    sleeper(seconds=seconds, where=where)


# -- fan-out, conditions -------------------------------------------------------------------------
@component
def square(x: int, where: str = "") -> int:
    record(where, f"square-{x}", phase="start")
    time.sleep(0.3)
    record(where, f"square-{x}", phase="end")
    return x * x


@component
def add_all(values: list) -> int:
    return sum(values)


@component
def listing(n: int) -> list:
    return [{"name": f"m{i}", "size": i} for i in range(n)]


@component
def describe(name: str, size: int) -> str:
    return f"{name}:{size}"


@component
def joined(parts: list) -> str:
    return ",".join(parts)


@pipeline
def fan(xs: list, where: str = ""):
    with for_each(xs, parallelism=2) as x:
        s = square(x=x, where=where)
    add_all(values=s.collect())


@pipeline
def fan_from_step(n: int = 3):
    found = listing(n=n)
    with for_each(found.output) as item:
        d = describe(name=item.name, size=item["size"])
    joined(parts=d.collect())


@component
def score(value: float) -> float:
    return value


@pipeline
def gated(value: float = 0.8, threshold: float = 0.5):
    s = score(value=value)
    with when(s.output > threshold):
        echo(text="deploy")
    with when(s.output <= threshold):
        echo(text="retrain")


# -- resume ----------------------------------------------------------------------------------------
@component(cache=False)
def counted(where: str) -> int:
    record(where, "counted")
    return len(runs_of(where, "counted"))


@component(cache=False)
def gate(where: str, value: int) -> int:
    record(where, "gate")
    if not os.path.exists(os.path.join(where, "open")):
        raise RuntimeError("the gate is closed")
    return value + 1


@pipeline
def resumable(where: str):
    c = counted(where=where)
    gate(where=where, value=c.output)


# -- big outputs -------------------------------------------------------------------------------------
@component
def big(n: int) -> list:
    return [f"item-{i:06d}-{'x' * 20}" for i in range(n)]


@component
def size_of(values: list) -> int:
    return len(values)


@pipeline
def big_outputs(n: int = 5000):
    b = big(n=n)
    size_of(values=b.output)


# -- where steps run (local executor) ---------------------------------------------------------
_meet = threading.Barrier(2)


@component(cache=False)
def thread_of(x: int) -> str:
    """The name of the thread the step ran in."""
    mlcore.log_metric("x", float(x))
    return threading.current_thread().name


@component(cache=False)
def meet(x: int) -> int:
    """Returns only once another ``meet`` step runs at the same time (10 s at most)."""
    _meet.wait(timeout=10)
    return x


@pipeline(name="thread-chain")
def thread_chain() -> None:
    first = thread_of(x=1)
    thread_of(x=2).after(first)


@pipeline(name="two-meet")
def two_meet() -> None:
    meet(x=1)
    meet(x=2)

# ruff: noqa: UP006, UP014, UP035, SIM115 - written as KFP users write it
# A KFP v2 pipeline as KFP's own control-flow samples write it (flip a coin, If/Elif/Else,
# ParallelFor with fan-in, ExitHandler with PipelineTaskFinalStatus, OutputPath/InputPath,
# typed artifacts, task options). The tests run it under kfp (`from kfp import dsl`) and
# under mlcore (`from mlcore.pipeline import dsl`): only that import line changes.
from typing import List, NamedTuple

from kfp import dsl
from kfp.dsl import Dataset, Input, InputPath, Metrics, Output, OutputPath


@dsl.component
def flip_coin(seed: int) -> str:
    return "heads" if seed % 2 == 0 else "tails"


@dsl.component
def announce(message: str) -> str:
    print(message)
    return message


@dsl.component
def square(x: int) -> int:
    return x * x


@dsl.component
def total(values: List[int]) -> int:
    return int(sum(values))


@dsl.component
def make_rows(n: int, rows: Output[Dataset]):
    with open(rows.path, "w") as handle:
        handle.write("\n".join(str(i) for i in range(n)))


@dsl.component
def count_rows(rows: InputPath("Dataset"), count: OutputPath(int)):
    with open(rows) as handle:
        n = len(handle.read().split("\n"))
    with open(count, "w") as handle:
        handle.write(str(n))


@dsl.component
def describe(rows: Input[Dataset], metrics: Output[Metrics]) -> NamedTuple(
    "Stats", [("first", str), ("last", str)]
):
    lines = open(rows.path).read().split("\n")
    metrics.log_metric("rows", len(lines))
    stats = NamedTuple("Stats", [("first", str), ("last", str)])
    return stats(lines[0], lines[-1])


@dsl.component
def goodbye(status: dsl.PipelineTaskFinalStatus) -> str:
    return status.state


@dsl.pipeline(name="control-flow")
def control_flow(seed: int = 2, n: int = 4):
    done = goodbye()
    with dsl.ExitHandler(done):
        coin = flip_coin(seed=seed).set_caching_options(False)
        with dsl.If(coin.output == "heads"):
            announce(message="heads it is").set_display_name("say-heads")
        with dsl.Elif(coin.output == "tails"):
            announce(message="tails it is")
        with dsl.Else():
            announce(message="on its edge")
        with dsl.ParallelFor([1, 2, 3], parallelism=2) as x:
            sq = square(x=x).set_retry(2).set_cpu_limit("1").set_memory_limit("256M")
        total(values=dsl.Collected(sq.output)).set_env_variable("MODE", "test")
        rows = make_rows(n=n)
        count_rows(rows=rows.outputs["rows"])
        describe(rows=rows.outputs["rows"])

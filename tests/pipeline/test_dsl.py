"""The DSL: what @component and @pipeline record, and the mistakes they refuse at once."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from mlcore.errors import InvalidInputError
from mlcore.pipeline import (
    Dataset,
    Input,
    Model,
    Output,
    Pipeline,
    component,
    exit_handler,
    for_each,
    pipeline,
    when,
)
from tests.pipeline import flows


@component
def load(path: str, data: Output[Dataset]) -> int:
    return 0


@component
def fit(data: Input[Dataset], model: Output[Model], depth: int = 3) -> float:
    return 0.0


@component
def label(text: str) -> str:
    return text


@component
def nothing(x: int) -> None:
    return None


class Pair(NamedTuple):
    low: int
    high: float


@component
def split(x: int) -> Pair:
    return Pair(x, float(x))


def test_component_spec_records_inputs_outputs_and_options() -> None:
    @component(
        retries=2,
        retry_backoff=0.5,
        timeout=30,
        cache=False,
        image="trainer:1",
        resources={"cpu": 2, "memory": "4Gi"},
        env={"MODE": "fast"},
    )
    def train(
        data: Input[Dataset], model: Output[Model], n: int = 100, tags: list[str] | None = None
    ) -> float:
        return 0.0

    spec = train.spec
    assert [(p.name, p.type, p.kind, p.optional) for p in spec.inputs] == [
        ("data", "Dataset", "artifact", False),
        ("n", "int", "parameter", True),
        ("tags", "list", "parameter", True),
    ]
    assert [(p.name, p.type, p.kind) for p in spec.outputs] == [
        ("model", "Model", "artifact"),
        ("Output", "float", "parameter"),
    ]
    assert (spec.retries, spec.retry_backoff, spec.timeout, spec.cache) == (2, 0.5, 30.0, False)
    assert spec.image == "trainer:1"
    assert spec.resources == {"cpu": "2", "memory": "4Gi"}
    assert spec.env == {"MODE": "fast"}
    assert train.func(None, None) == 0.0  # the plain function stays callable


def test_named_tuple_return_gives_named_outputs() -> None:
    assert [(o.name, o.type) for o in split.spec.outputs] == [("low", "int"), ("high", "float")]

    @pipeline
    def uses(x: int = 1):
        s = split(x=x)
        flows.double(x=s.outputs["low"])

    assert uses.spec.task("double").arguments["x"].output == "low"

    def wrong(x: int = 1):
        s = split(x=x)
        flows.double(x=s.outputs["high"])  # a float where an int is wanted

    expect_compile_error(r"expects int, but output 'high' of 'split' is float", wrong)


@pytest.mark.parametrize(
    ("annotation_source", "message"),
    [
        ("def f(x): ...", "needs a type annotation"),
        ("def f(x: set) -> int: ...", "unsupported type"),
        ("def f(*xs: int) -> int: ...", r"\*args"),
        ("def f(x: Input[int]) -> int: ...", "artifact type"),
    ],
)
def test_bad_component_signatures_are_refused(annotation_source: str, message: str) -> None:
    namespace: dict[str, object] = {"Input": Input}
    exec(annotation_source, namespace)
    with pytest.raises(InvalidInputError, match=message):
        component(namespace["f"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "message"),
    [({"retries": -1}, "retries"), ({"timeout": 0}, "timeout"), ({"retries": 1.5}, "retries")],
)
def test_bad_component_options_are_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        component(**options)(label.func)  # type: ignore[arg-type]


def test_pipeline_traces_a_dag() -> None:
    spec = flows.training.spec
    assert isinstance(flows.training, Pipeline)
    assert spec.name == "training"
    assert spec.description == "Preprocess, train, evaluate: the seed pipeline."
    assert [(p.name, p.type, p.default) for p in spec.parameters] == [
        ("rows", "int", 10),
        ("lr", "float", 0.1),
        ("where", "str", ""),
    ]
    assert [t.name for t in spec.tasks] == ["make-data", "summarize", "train", "evaluate"]
    train = spec.task("train")
    assert train.arguments["data"].task == "make-data"
    assert train.arguments["data"].output == "data"
    assert train.arguments["lr"].param == "lr"
    evaluate = spec.task("evaluate")
    assert evaluate.arguments["accuracy"].output == "Output"


def test_repeated_components_get_unique_step_names() -> None:
    @pipeline
    def twice(text: str = "a"):
        first = label(text=text)
        label(text=first.output)
        label(text="c")

    assert [t.name for t in twice.spec.tasks] == ["label", "label-2", "label-3"]


def expect_compile_error(match: str, body: object) -> InvalidInputError:
    with pytest.raises(InvalidInputError, match=match) as info:
        pipeline(body)  # type: ignore[arg-type]
    return info.value


def test_missing_argument_names_the_step_and_argument() -> None:
    def broken(path: str = "x"):
        fit()

    error = expect_compile_error(r"step 'fit'.*missing argument.*'data'", broken)
    assert error.field == "data"


def test_unknown_argument_is_refused() -> None:
    def broken(text: str = "x"):
        label(text=text, colour="red")

    error = expect_compile_error(r"step 'label'.*unknown argument 'colour'", broken)
    assert error.field == "colour"


def test_passing_an_output_parameter_is_refused() -> None:
    def broken():
        load(path="x", data="y")

    expect_compile_error(r"'data' is an output of 'load'", broken)


def test_constant_of_the_wrong_type_is_refused() -> None:
    def broken():
        l = load(path="x")  # noqa: E741
        fit(data=l.outputs["data"], depth="deep")

    error = expect_compile_error(r"step 'fit' argument 'depth': expects int, got str", broken)
    assert error.field == "depth"


def test_output_of_the_wrong_type_is_refused() -> None:
    def broken():
        l = load(path="x")  # noqa: E741
        f = fit(data=l.outputs["data"])
        label(text=f.output)

    expect_compile_error(
        r"step 'label' argument 'text': expects str, but output 'Output' of 'fit' is float",
        broken,
    )


def test_an_artifact_cannot_feed_a_parameter() -> None:
    def broken():
        l = load(path="x")  # noqa: E741
        label(text=l.outputs["data"])

    expect_compile_error(r"step 'label' argument 'text'", broken)


def test_pipeline_parameter_of_the_wrong_type_is_refused() -> None:
    def broken(depth: str = "3"):
        l = load(path="x")  # noqa: E741
        fit(data=l.outputs["data"], depth=depth)

    expect_compile_error(r"pipeline parameter 'depth' is str", broken)


def test_unknown_output_name_lists_the_outputs() -> None:
    def broken():
        l = load(path="x")  # noqa: E741
        fit(data=l.outputs["dataset"])

    error = expect_compile_error(
        r"step 'load' has no output 'dataset'; its outputs are data", broken
    )
    assert error.field == "dataset"


def test_output_of_a_step_returning_nothing() -> None:
    def broken():
        n = nothing(x=1)
        label(text=n.output)

    expect_compile_error(r"step 'nothing' returns nothing", broken)


def test_passing_the_step_itself_is_refused() -> None:
    def broken():
        l = load(path="x")  # noqa: E741
        fit(data=l)

    expect_compile_error(r"pass an output of 'load'", broken)


def test_cycles_are_refused() -> None:
    def broken():
        a = label(text="a")
        b = label(text="b").after(a)
        a.after(b)

    expect_compile_error(
        r"cycle: label -> label-2 -> label|cycle: label-2 -> label -> label-2", broken
    )


def test_if_on_a_runtime_value_is_refused() -> None:
    def broken():
        s = flows.score(value=1.0)
        if s.output > 0.5:
            label(text="yes")

    expect_compile_error(r"use `with when\(...\)`", broken)


def test_looped_output_outside_the_loop_needs_collect() -> None:
    def broken(xs: list = [1, 2]):  # noqa: B006
        with for_each(xs) as x:
            d = flows.double(x=x)
        flows.double(x=d.output)

    expect_compile_error(r"pass double.collect\(\)", broken)


def test_collect_of_a_step_outside_a_loop() -> None:
    def broken():
        d = flows.double(x=1)
        flows.add_all(values=d.collect())

    expect_compile_error(r"not inside for_each", broken)


def test_nested_loops_and_bad_parallelism() -> None:
    def nested(xs: list = [1]):  # noqa: B006
        with for_each(xs), for_each(xs):
            pass

    expect_compile_error("nested for_each", nested)

    def bad_parallelism(xs: list = [1]):  # noqa: B006
        with for_each(xs, parallelism=0):
            pass

    expect_compile_error("parallelism", bad_parallelism)

    def not_a_list(n: int = 1):
        with for_each(n):
            pass

    expect_compile_error("for_each needs a list", not_a_list)


def test_exit_handler_must_guard_steps() -> None:
    def empty():
        n = flows.notify()
        with exit_handler(n):
            pass

    expect_compile_error("guards no steps", empty)


def test_a_pipeline_needs_steps_and_typed_parameters() -> None:
    def no_steps(x: int = 1):
        pass

    expect_compile_error("has no steps", no_steps)

    def untyped(x):  # type: ignore[no-untyped-def]
        label(text="a")

    expect_compile_error("needs a type annotation", untyped)

    def bad_default(x: int = "one"):  # type: ignore[assignment]
        label(text="a")

    expect_compile_error("default of 'x' must be int", bad_default)


def test_components_outside_a_pipeline_and_pipelines_called() -> None:
    with pytest.raises(InvalidInputError, match="inside a @pipeline"):
        label(text="x")
    with pytest.raises(InvalidInputError, match="run"):
        flows.training()


def test_when_records_conditions_and_dependencies() -> None:
    spec = flows.gated.spec
    deploy, retrain = spec.task("echo"), spec.task("echo-2")
    assert deploy.conditions[0].op == ">"
    assert deploy.conditions[0].left.task == "score"
    assert deploy.conditions[0].right is not None
    assert deploy.conditions[0].right.param == "threshold"
    assert retrain.conditions[0].op == "<="

    def bad():
        with when("yes"):  # type: ignore[arg-type]
            label(text="a")

    expect_compile_error("comparison of pipeline values", bad)

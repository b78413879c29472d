"""Pipelines, side by side with the KFP SDK's local runner (``kfp.local.SubprocessRunner``).

Bars (issue: Pipelines): per-step overhead of a no-op step, local < 1 ms and process < 20 ms;
a 200-step fan-out/fan-in on ``process`` >= 20x faster than the same pipeline on kfp.local; a
fully cached re-run of the seed's preprocess -> train -> evaluate pipeline < 100 ms.

Per-step overhead is the wall time of a pipeline of N no-op steps divided by N: as a chain
(each step waits for the one before: the latency of one step) and as a fan-out (N independent
steps: the throughput). kfp.local runs the steps of a pipeline one after another, each in a
fresh Python process; it has no cache ("local execution does not feature caching"), so its
re-run of the seed pipeline runs everything again.

Run: ``python benchmarks/bench_pipelines.py`` in an environment with mlcore, kfp, pandas and
scikit-learn (``--quick`` for fewer repeats, ``--kfp-repeats`` for the slow peer).
"""

import argparse
import builtins
import logging
import os
import statistics
import sys
import time
import warnings
from functools import partial

from _common import fmt_seconds, have, report, scratch_dir, skipped

from mlcore.pipeline import Dataset, Input, Model, Output, component, for_each, pipeline

# -- mlcore pipelines ------------------------------------------------------------------------------


@component(cache=False)
def noop(x: int) -> int:
    return x


@component(cache=False)
def add_up(values: list) -> int:
    return int(sum(values))


def chain_of(n: int) -> object:
    @pipeline(name=f"chain-{n}")
    def chain(x: int = 0):
        t = noop(x=x)
        for _ in range(n - 1):
            t = noop(x=t.output)

    return chain


def fan_of(n: int) -> object:
    @pipeline(name=f"fan-{n}")
    def fan(items: list = list(range(n))):  # noqa: B006 - a pipeline default, not mutated
        with for_each(items) as item:
            t = noop(x=item)
        add_up(values=t.collect())

    return fan


@component
def preprocess(raw: Input[Dataset], clean: Output[Dataset]) -> int:
    import pandas as pd

    df = pd.read_csv(raw.path)
    df_clean = df.dropna().fillna(0)
    df_clean.to_csv(clean.path, index=False)
    return len(df_clean)


@component
def train(data: Input[Dataset], model: Output[Model], n_estimators: int = 100) -> None:
    import joblib
    import pandas as pd
    from sklearn.ensemble import RandomForestClassifier

    df = pd.read_csv(data.path)
    forest = RandomForestClassifier(n_estimators=n_estimators, random_state=0, n_jobs=1)
    forest.fit(df.drop("target", axis=1), df["target"])
    joblib.dump(forest, model.path)


@component
def evaluate(model: Input[Model], data: Input[Dataset]) -> float:
    import joblib
    import pandas as pd
    from sklearn.metrics import accuracy_score

    forest = joblib.load(model.path)
    df = pd.read_csv(data.path)
    return float(accuracy_score(df["target"], forest.predict(df.drop("target", axis=1))))


@pipeline(name="training-pipeline")
def seed_pipeline(data_path: str, n_estimators: int = 100):
    p = preprocess(raw=data_path)
    t = train(data=p.outputs["clean"], n_estimators=n_estimators)
    evaluate(model=t.outputs["model"], data=p.outputs["clean"])


def seed_data(path: str) -> None:
    import numpy as np
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=2000, n_features=10, random_state=0)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(10)])
    df.loc[np.arange(0, 2000, 50), "f3"] = np.nan
    df["target"] = y
    df.to_csv(path, index=False)


# -- KFP -------------------------------------------------------------------------------------------
def kfp_pipelines() -> dict[str, object]:
    warnings.filterwarnings("ignore", category=FutureWarning)
    from kfp import dsl

    @dsl.component
    def kfp_noop(x: int) -> int:
        return x

    @dsl.component
    def kfp_add_up(values: list) -> int:
        return int(sum(values))

    @dsl.pipeline
    def kfp_fan(items: list) -> int:
        with dsl.ParallelFor(items=items) as item:
            t = kfp_noop(x=item)
        return kfp_add_up(values=dsl.Collected(t.output)).output

    @dsl.pipeline
    def kfp_chain10() -> int:
        t = kfp_noop(x=0)
        for _ in range(9):
            t = kfp_noop(x=t.output)
        return t.output

    @dsl.component(packages_to_install=[])
    def kfp_preprocess(raw: str, clean: dsl.Output[dsl.Dataset]) -> int:
        import pandas as pd

        df = pd.read_csv(raw).dropna().fillna(0)
        df.to_csv(clean.path, index=False)
        return len(df)

    @dsl.component(packages_to_install=[])
    def kfp_train(
        data: dsl.Input[dsl.Dataset], model: dsl.Output[dsl.Model], n_estimators: int = 100
    ):
        import joblib
        import pandas as pd
        from sklearn.ensemble import RandomForestClassifier

        df = pd.read_csv(data.path)
        forest = RandomForestClassifier(n_estimators=n_estimators, random_state=0, n_jobs=1)
        forest.fit(df.drop("target", axis=1), df["target"])
        joblib.dump(forest, model.path)

    @dsl.component(packages_to_install=[])
    def kfp_evaluate(model: dsl.Input[dsl.Model], data: dsl.Input[dsl.Dataset]) -> float:
        import joblib
        import pandas as pd
        from sklearn.metrics import accuracy_score

        forest = joblib.load(model.path)
        df = pd.read_csv(data.path)
        return float(accuracy_score(df["target"], forest.predict(df.drop("target", axis=1))))

    @dsl.pipeline
    def kfp_seed(data_path: str, n_estimators: int = 100) -> float:
        p = kfp_preprocess(raw=data_path)
        t = kfp_train(data=p.outputs["clean"], n_estimators=n_estimators)
        return kfp_evaluate(model=t.outputs["model"], data=p.outputs["clean"]).output

    return {"fan": kfp_fan, "chain10": kfp_chain10, "seed": kfp_seed}


def kfp_init(root: str) -> None:
    from kfp import local

    logging.getLogger("kfp").setLevel(logging.ERROR)
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=root)


_PRINT = builtins.print


class Silenced:
    """kfp.local prints every task's log to stdout; keep the results readable."""

    def __enter__(self) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        self.saved = (os.dup(1), os.dup(2))
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.close(devnull)

    def __exit__(self, *exc: object) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(self.saved[0], 1)
        os.dup2(self.saved[1], 2)
        os.close(self.saved[0])
        os.close(self.saved[1])
        builtins.print = _PRINT  # kfp.local can leave its indenting print installed


def median_of(fn: object, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--kfp-repeats", type=int, default=3)
    parser.add_argument("--fan", type=int, default=200)
    args = parser.parse_args()
    repeats = 1 if args.quick else 7
    chain_n = 10 if args.quick else 100
    if args.quick:
        args.fan = 20
    peer = have("kfp")

    def kfp_cell(value: float | None) -> str:
        return skipped("kfp") if value is None else fmt_seconds(value)

    def times(value: float | None, ours: float, fmt: str = "{:.0f}x") -> str:
        return "" if value is None else fmt.format(value / ours)

    from mlcore.executors import resolve_executor
    from mlcore.tracking import Tracker

    with scratch_dir() as where:
        tracker = Tracker(f"sqlite:///{where}/mlcore.db")
        if peer:
            kfp_init(os.path.join(where, "kfp-root"))
            peers = kfp_pipelines()

        # -- per-step overhead ------------------------------------------------------------------
        rows = []
        chain100, fan200 = chain_of(chain_n), fan_of(args.fan)
        for name in ("local", "process"):
            executor = resolve_executor(name)
            try:
                run_chain = partial(chain100.run, tracker=tracker, executor=executor)
                run_fan = partial(fan200.run, tracker=tracker, executor=executor)
                run_chain()  # warm: workers started, code loaded
                chain_s = median_of(run_chain, repeats) / chain_n
                fan_s = median_of(run_fan, repeats) / (args.fan + 1)
            finally:
                executor.close()
            rows.append((name, chain_s, fan_s))
        kfp_step = None
        if peer:
            with Silenced():
                kfp_step = median_of(lambda: peers["chain10"](), args.kfp_repeats) / 10  # type: ignore[operator]
        report(
            "Per-step overhead of a no-op step (wall time / steps; kfp.local: 10-step chain)",
            [
                (
                    f"{name}: chain of {chain_n}",
                    fmt_seconds(chain),
                    kfp_cell(kfp_step),
                    times(kfp_step, chain),
                )
                for name, chain, _ in rows
            ]
            + [
                (
                    f"{name}: fan-out of {args.fan} + fan-in",
                    fmt_seconds(fan),
                    kfp_cell(kfp_step),
                    times(kfp_step, fan),
                )
                for name, _, fan in rows
            ],
        )

        # -- 200-step fan-out/fan-in, process vs kfp.local ---------------------------------------
        # a process pool started per run: the slowest part, left to the full run
        if not args.quick:
            items = list(range(args.fan))
            cold = median_of(
                lambda: fan200.run({"items": items}, tracker=tracker, executor="process"), repeats
            )
            kfp_fan = None
            if peer:
                with Silenced():
                    kfp_fan = median_of(lambda: peers["fan"](items=items), args.kfp_repeats)  # type: ignore[operator]
            report(
                f"{args.fan}-step fan-out + fan-in, whole run "
                "(mlcore process pool started per run)",
                [
                    (
                        "process vs kfp.local SubprocessRunner",
                        fmt_seconds(cold),
                        kfp_cell(kfp_fan),
                        times(kfp_fan, cold, "{:.1f}x"),
                    )
                ],
            )

        # -- a KFP-compiled ParallelFor: mlcore runs kfp's IR, kfp.local runs the same YAML -------
        if peer:
            from kfp import compiler, components

            from mlcore.pipeline import Pipeline

            ir = os.path.join(where, "kfp_fan.yaml")
            compiler.Compiler().compile(peers["fan"], ir)
            items = list(range(args.fan))
            from_ir = Pipeline.from_yaml(ir)
            ours_ir = median_of(
                lambda: from_ir.run({"items": items}, tracker=tracker, executor="process"),
                max(1, repeats // 2),
            )
            loaded = components.load_component_from_file(ir)
            with Silenced():
                theirs_ir = median_of(lambda: loaded(items=items), args.kfp_repeats)  # type: ignore[operator]
            report(
                f"KFP-compiled {args.fan}-way ParallelFor + Collected, whole run of the same IR "
                "(mlcore process pool started per run)",
                [
                    (
                        "mlcore process vs kfp.local SubprocessRunner",
                        fmt_seconds(ours_ir),
                        fmt_seconds(theirs_ir),
                        times(theirs_ir, ours_ir, "{:.1f}x"),
                    )
                ],
            )

        # -- the seed pipeline, then a fully cached re-run ---------------------------------------
        data = os.path.join(where, "data.csv")
        seed_data(data)
        rows2 = []
        for name in ("local",) if args.quick else ("local", "process"):
            first_s = median_of(
                partial(
                    seed_pipeline.run,
                    {"data_path": data},
                    tracker=tracker,
                    executor=name,
                    cache=False,
                ),
                max(1, repeats // 2),
            )
            result = seed_pipeline.run({"data_path": data}, tracker=tracker, executor=name)
            assert result.status == "SUCCEEDED", result
            cached_s = median_of(
                partial(seed_pipeline.run, {"data_path": data}, tracker=tracker, executor=name),
                repeats,
            )
            again = seed_pipeline.run({"data_path": data}, tracker=tracker, executor=name)
            assert all(s.cached for s in again.steps.values())
            rows2.append((name, first_s, cached_s))
        kfp_seed = None
        if peer:
            with Silenced():
                kfp_seed = median_of(lambda: peers["seed"](data_path=data), args.kfp_repeats)  # type: ignore[operator]
        report(
            "Seed pipeline preprocess -> train (RF 100) -> evaluate; kfp.local has no cache",
            [
                (
                    f"{name}: first run",
                    fmt_seconds(first),
                    kfp_cell(kfp_seed),
                    times(kfp_seed, first, "{:.1f}x"),
                )
                for name, first, _ in rows2
            ]
            + [
                (
                    f"{name}: fully cached re-run",
                    fmt_seconds(cached),
                    kfp_cell(kfp_seed),
                    times(kfp_seed, cached),
                )
                for name, _, cached in rows2
            ],
        )
        tracker.close()


if __name__ == "__main__":
    main()

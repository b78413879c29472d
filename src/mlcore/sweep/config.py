"""Sweep configs in W&B's format, validated with errors that name the bad key.

```yaml
method: bayes                       # grid | random | bayes | optuna
metric: {name: val_acc, goal: maximize}
parameters:
  lr: {distribution: log_uniform_values, min: 1.0e-4, max: 0.1}
  depth: {values: [3, 6, 9]}
  optimizer: {value: adam}
early_terminate: {type: hyperband, min_iter: 3, eta: 3}
run_cap: 50
program: train.py                  # for `mlcore sweep FILE.yaml`
optuna: {sampler: CmaEsSampler, seed: 1}   # with method: optuna
```
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from mlcore.errors import InvalidInputError

__all__ = [
    "DISTRIBUTIONS",
    "METHODS",
    "OPTUNA_SAMPLERS",
    "EarlyTerminate",
    "ParamSpec",
    "SweepConfig",
    "parse_config",
]

METHODS = ("grid", "random", "bayes", "optuna")
DISTRIBUTIONS = (
    "constant",
    "categorical",
    "int_uniform",
    "uniform",
    "q_uniform",
    "log_uniform",
    "log_uniform_values",
    "q_log_uniform_values",
    "normal",
    "q_normal",
    "log_normal",
)
OPTUNA_SAMPLERS = {
    "TPESampler": "bayes (tree-structured Parzen estimator)",
    "GPSampler": "Gaussian-process Bayesian optimisation",
    "CmaEsSampler": "CMA-ES",
    "NSGAIISampler": "NSGA-II",
    "QMCSampler": "quasi-Monte Carlo",
    "RandomSampler": "random",
}
_TOP_KEYS = {
    "method", "metric", "parameters", "early_terminate", "run_cap", "program", "command",
    "name", "description", "project", "entity", "optuna", "seed",
}  # fmt: skip
_PARAM_KEYS = {"distribution", "values", "value", "min", "max", "mu", "sigma", "q", "probabilities"}


@dataclass(frozen=True)
class ParamSpec:
    name: str
    distribution: str
    values: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    mu: float = 0.0
    sigma: float = 1.0
    q: float | None = None

    @property
    def finite(self) -> bool:
        return self.distribution in ("constant", "categorical")


@dataclass(frozen=True)
class EarlyTerminate:
    """Hyperband/ASHA: trials report the metric each iteration; at each rung (an iteration
    count) a trial goes on only if its value is in the best ``1/eta`` of the values other
    trials reported at that rung."""

    rungs: tuple[int, ...]
    eta: int


@dataclass(frozen=True)
class SweepConfig:
    method: str
    metric: str | None
    goal: str
    parameters: tuple[ParamSpec, ...]
    early_terminate: EarlyTerminate | None = None
    run_cap: int | None = None
    program: str | None = None
    command: tuple[str, ...] = ()
    name: str | None = None
    sampler: str = "TPESampler"
    sampler_options: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def maximize(self) -> bool:
        return self.goal == "maximize"


def _fail(message: str, key: str) -> InvalidInputError:
    return InvalidInputError(f"sweep config: {key}: {message}", field=key)


def _number(spec: dict[str, Any], key: str, where: str) -> float:
    value = spec.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(f"{key} must be a finite number, got {value!r}", f"{where}.{key}")
    return float(value)


def _param(name: str, spec: Any) -> ParamSpec:
    where = f"parameters.{name}"
    if not isinstance(spec, dict):
        raise _fail("must be a mapping (values, value, or distribution with bounds)", where)
    unknown = sorted(set(spec) - _PARAM_KEYS)
    if unknown:
        if "parameters" in spec:
            raise _fail("nested parameters are not supported; flatten the name", where)
        raise _fail(f"unknown key(s) {unknown}", f"{where}.{unknown[0]}")
    distribution = spec.get("distribution")
    if distribution is None:  # W&B infers it
        if "values" in spec:
            distribution = "categorical"
        elif "value" in spec:
            distribution = "constant"
        elif "min" in spec and "max" in spec:
            both_int = all(
                isinstance(spec[k], int) and not isinstance(spec[k], bool) for k in ("min", "max")
            )
            distribution = "int_uniform" if both_int else "uniform"
        else:
            raise _fail("needs values, value, or min and max (or a distribution)", where)
    if distribution not in DISTRIBUTIONS:
        raise _fail(
            f"unknown distribution {distribution!r}; one of {', '.join(DISTRIBUTIONS)}",
            f"{where}.distribution",
        )
    if distribution == "constant":
        if "value" not in spec:
            raise _fail("a constant needs value", f"{where}.value")
        return ParamSpec(name, "constant", (spec["value"],))
    if distribution == "categorical":
        values = spec.get("values")
        if not isinstance(values, list) or not values:
            raise _fail("values must be a non-empty list", f"{where}.values")
        return ParamSpec(name, "categorical", tuple(values))
    q = _number(spec, "q", where) if "q" in spec else None
    if q is not None and q <= 0:
        raise _fail("q must be positive", f"{where}.q")
    if distribution in ("normal", "q_normal", "log_normal"):
        mu = _number(spec, "mu", where) if "mu" in spec else 0.0
        sigma = _number(spec, "sigma", where) if "sigma" in spec else 1.0
        if sigma <= 0:
            raise _fail("sigma must be positive", f"{where}.sigma")
        if distribution == "q_normal" and q is None:
            q = 1.0
        return ParamSpec(name, distribution, mu=mu, sigma=sigma, q=q)
    for key in ("min", "max"):
        if key not in spec:
            raise _fail(f"{distribution} needs min and max", f"{where}.{key}")
    low, high = _number(spec, "min", where), _number(spec, "max", where)
    if low > high:
        raise _fail(f"min ({low:g}) is greater than max ({high:g})", f"{where}.min")
    if distribution == "int_uniform" and not (low.is_integer() and high.is_integer()):
        raise _fail("int_uniform needs integer min and max", f"{where}.min")
    if distribution in ("log_uniform_values", "q_log_uniform_values") and low <= 0:
        raise _fail(f"{distribution} needs min > 0", f"{where}.min")
    if distribution in ("q_uniform", "q_log_uniform_values") and q is None:
        q = 1.0
    return ParamSpec(name, distribution, low=low, high=high, q=q)


def _early_terminate(spec: Any) -> EarlyTerminate:
    where = "early_terminate"
    if not isinstance(spec, dict):
        raise _fail("must be a mapping", where)
    unknown = sorted(set(spec) - {"type", "min_iter", "max_iter", "eta", "s", "strict"})
    if unknown:
        raise _fail(f"unknown key(s) {unknown}", f"{where}.{unknown[0]}")
    if spec.get("type") != "hyperband":
        raise _fail(f"type must be hyperband, got {spec.get('type')!r}", f"{where}.type")
    eta = spec.get("eta", 3)
    if not isinstance(eta, int) or isinstance(eta, bool) or eta < 2:
        raise _fail("eta must be an integer >= 2", f"{where}.eta")
    if "min_iter" in spec:
        min_iter = spec["min_iter"]
        if not isinstance(min_iter, int) or isinstance(min_iter, bool) or min_iter < 1:
            raise _fail("min_iter must be a positive integer", f"{where}.min_iter")
        rungs = tuple(min_iter * eta**k for k in range(12))
    elif "max_iter" in spec:
        max_iter, s = spec["max_iter"], spec.get("s", 2)
        if not isinstance(max_iter, int) or isinstance(max_iter, bool) or max_iter < 1:
            raise _fail("max_iter must be a positive integer", f"{where}.max_iter")
        if not isinstance(s, int) or isinstance(s, bool) or s < 1:
            raise _fail("s must be a positive integer", f"{where}.s")
        rungs = tuple(sorted({max(1, max_iter // eta**k) for k in range(s, 0, -1)}))
    else:
        raise _fail("hyperband needs min_iter or max_iter", where)
    return EarlyTerminate(rungs=rungs, eta=eta)


def parse_config(raw: Any) -> SweepConfig:
    """Validate a W&B sweep config (a dict, or the text of a YAML file).

    Raises:
        InvalidInputError: naming the bad key, for any unknown method, distribution or key,
            min > max, empty values, a missing metric where the method needs one...
    """
    if isinstance(raw, str):
        import yaml

        try:
            raw = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise InvalidInputError(f"sweep config is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise _fail("a sweep config is a mapping", "config")
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise _fail(f"unknown key(s) {unknown}", unknown[0])
    method = raw.get("method")
    if method not in METHODS:
        raise _fail(f"method must be one of {', '.join(METHODS)}, got {method!r}", "method")
    metric = raw.get("metric")
    name, goal = None, "minimize"
    if metric is not None:
        if isinstance(metric, str):
            metric = {"name": metric}
        if not isinstance(metric, dict) or not isinstance(metric.get("name"), str):
            raise _fail("metric needs a name", "metric.name")
        name = metric["name"]
        goal = metric.get("goal", "minimize")
        if goal not in ("minimize", "maximize"):
            raise _fail(f"goal must be minimize or maximize, got {goal!r}", "metric.goal")
    if method in ("bayes", "optuna") and name is None:
        raise _fail(f"method {method} needs a metric to optimise", "metric")
    parameters = raw.get("parameters")
    if not isinstance(parameters, dict) or not parameters:
        raise _fail("parameters must be a non-empty mapping", "parameters")
    specs = tuple(_param(str(k), v) for k, v in parameters.items())
    if method == "grid":
        for spec in specs:
            if not spec.finite and not (spec.distribution == "int_uniform"):
                raise _fail(
                    "grid search needs values, value or int_uniform for every parameter",
                    f"parameters.{spec.name}",
                )
    early = raw.get("early_terminate")
    early_terminate = _early_terminate(early) if early is not None else None
    if early_terminate is not None and name is None:
        raise _fail("early termination needs a metric", "metric")
    run_cap = raw.get("run_cap")
    if run_cap is not None and (
        not isinstance(run_cap, int) or isinstance(run_cap, bool) or run_cap < 1
    ):
        raise _fail("run_cap must be a positive integer", "run_cap")
    optuna = raw.get("optuna") or {}
    if not isinstance(optuna, dict):
        raise _fail("must be a mapping (sampler, options)", "optuna")
    sampler = optuna.get("sampler", "TPESampler" if method != "optuna" else None)
    if method == "optuna" and sampler not in OPTUNA_SAMPLERS:
        raise _fail(
            f"sampler must be one of {', '.join(OPTUNA_SAMPLERS)}, got {sampler!r}",
            "optuna.sampler",
        )
    sampler_options = {k: v for k, v in optuna.items() if k not in ("sampler",)}
    command = raw.get("command") or ()
    if not isinstance(command, (list, tuple)) or not all(isinstance(c, str) for c in command):
        raise _fail("command must be a list of strings", "command")
    program = raw.get("program")
    if program is not None and not isinstance(program, str):
        raise _fail("program must be a path", "program")
    seed = raw.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise _fail("seed must be an integer", "seed")
    return SweepConfig(
        method=method,
        metric=name,
        goal=goal,
        parameters=specs,
        early_terminate=early_terminate,
        run_cap=run_cap,
        program=program,
        command=tuple(command),
        name=raw.get("name"),
        sampler=str(sampler or "TPESampler"),
        sampler_options=sampler_options,
        seed=seed,
        raw=raw,
    )

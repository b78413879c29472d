"""Where the next trial's parameters come from.

- ``grid``: every combination, in order, duplicates removed; trial ``n`` gets combination
  ``n``, so agents on several machines never repeat one.
- ``random``: each parameter drawn from its distribution with a generator seeded by
  ``(seed, n)``: trial ``n`` gets the same draw whoever runs it.
- ``bayes``: Optuna's TPE sampler over the finished trials (read back from the store, so
  agents on other machines learn from each other); ``optuna``: the Optuna sampler the config
  names (``CmaEsSampler``, ``NSGAIISampler``, ``GPSampler``, ``QMCSampler``...).

Optuna has no normal distributions: ``normal``/``q_normal``/``log_normal`` parameters are
searched over mu +- 4 sigma (in log space for ``log_normal``) by the Optuna-backed methods.
"""

from __future__ import annotations

import itertools
import math
import threading
import warnings
from typing import Any

from mlcore.errors import InvalidInputError
from mlcore.sweep.config import ParamSpec, SweepConfig

__all__ = ["OptunaSearch", "draw", "grid_points", "optuna_distribution"]


def grid_points(config: SweepConfig) -> list[dict[str, Any]]:
    axes = []
    for spec in config.parameters:
        if spec.distribution == "int_uniform":
            values: list[Any] = list(range(int(spec.low or 0), int(spec.high or 0) + 1))
        else:
            values = []
            seen = set()
            for value in spec.values:
                key = repr(value)
                if key not in seen:
                    seen.add(key)
                    values.append(value)
        axes.append([(spec.name, v) for v in values])
    return [dict(combo) for combo in itertools.product(*axes)]


def _quantize(value: float, q: float | None) -> float:
    return value if q is None else round(value / q) * q


def draw(spec: ParamSpec, rng: Any) -> Any:
    """One value of ``spec`` (the ``random`` method)."""
    d = spec.distribution
    if d == "constant":
        return spec.values[0]
    if d == "categorical":
        return spec.values[int(rng.integers(len(spec.values)))]
    low, high = spec.low or 0.0, spec.high or 0.0
    if d == "int_uniform":
        return int(rng.integers(int(low), int(high) + 1))
    if d in ("uniform", "q_uniform"):
        return float(_quantize(rng.uniform(low, high), spec.q))
    if d == "log_uniform":  # W&B: min and max are natural-log bounds
        return float(math.exp(rng.uniform(low, high)))
    if d in ("log_uniform_values", "q_log_uniform_values"):
        value = math.exp(rng.uniform(math.log(low), math.log(high)))
        return float(_quantize(value, spec.q))
    value = rng.normal(spec.mu, spec.sigma)
    if d == "log_normal":
        return float(math.exp(value))
    return float(_quantize(value, spec.q))


def optuna_distribution(spec: ParamSpec) -> Any:
    from optuna import distributions as od

    d = spec.distribution
    if d == "categorical":
        plain = all(v is None or isinstance(v, (bool, int, float, str)) for v in spec.values)
        return od.CategoricalDistribution(spec.values if plain else list(range(len(spec.values))))
    low, high = spec.low or 0.0, spec.high or 0.0
    if d == "int_uniform":
        return od.IntDistribution(int(low), int(high))
    if d == "uniform":
        return od.FloatDistribution(low, high)
    if d == "q_uniform":
        q = spec.q or 1.0
        top = low + math.floor((high - low) / q) * q
        return od.FloatDistribution(low, top if top > low else high, step=q if top > low else None)
    if d == "log_uniform":
        return od.FloatDistribution(math.exp(low), math.exp(high), log=True)
    if d in ("log_uniform_values", "q_log_uniform_values"):
        return od.FloatDistribution(low, high, log=True)
    lo, hi = spec.mu - 4 * spec.sigma, spec.mu + 4 * spec.sigma
    if d == "log_normal":
        return od.FloatDistribution(math.exp(lo), math.exp(hi), log=True)
    return od.FloatDistribution(lo, hi)


def _to_optuna(spec: ParamSpec, value: Any) -> Any:
    """A stored parameter value as the Optuna distribution sees it (None: not representable)."""
    if spec.distribution == "categorical":
        dist = optuna_distribution(spec)
        if value in dist.choices:
            return value
        for i, candidate in enumerate(spec.values):
            if candidate == value:
                return i
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    dist = optuna_distribution(spec)
    number = min(max(number, dist.low), dist.high)
    return int(number) if spec.distribution == "int_uniform" else number


def _from_optuna(spec: ParamSpec, value: Any) -> Any:
    if spec.distribution == "categorical":
        dist = optuna_distribution(spec)
        if dist.choices != spec.values and isinstance(value, int):
            return spec.values[value]
        return value
    if spec.distribution in ("q_log_uniform_values", "q_normal"):
        return _quantize(float(value), spec.q)
    return value


class OptunaSearch:
    """An Optuna study kept in step with the sweep's finished trials."""

    def __init__(self, config: SweepConfig, seed: int) -> None:
        try:
            import optuna
        except ImportError as exc:
            raise InvalidInputError(
                f"method {config.method} uses Optuna: pip install optuna"
            ) from exc
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.config = config
        self._optuna = optuna
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        self._asked: dict[str, int] = {}  # run id -> the Optuna trial asked for it
        self.searched = [s for s in config.parameters if s.distribution != "constant"]
        self.distributions = {s.name: optuna_distribution(s) for s in self.searched}
        self.study = optuna.create_study(
            direction="maximize" if config.maximize else "minimize",
            sampler=self._sampler(seed),
        )

    def _sampler(self, seed: int) -> Any:
        samplers = self._optuna.samplers
        options = dict(self.config.sampler_options)
        options.pop("seed", None)
        name = self.config.sampler if self.config.method == "optuna" else "TPESampler"
        cls = getattr(samplers, name)
        if name == "TPESampler":
            options.setdefault("multivariate", True)
            options.setdefault("constant_liar", True)
        try:
            return cls(seed=seed, **options)
        except TypeError as exc:
            raise InvalidInputError(f"sweep config: optuna: {exc}", field="optuna") from exc

    def observe(self, trials: list[tuple[str, dict[str, Any], str, float | None]]) -> None:
        """Add finished trials (run id, params, status, value) not seen yet."""
        from optuna.trial import TrialState, create_trial

        with self._lock:
            for run_id, params, status, value in trials:
                if run_id in self._seen:
                    continue
                self._seen.add(run_id)
                converted = {}
                for spec in self.searched:
                    if spec.name not in params:
                        break
                    mapped = _to_optuna(spec, params[spec.name])
                    if mapped is None:
                        break
                    converted[spec.name] = mapped
                else:
                    kwargs: dict[str, Any]
                    finite = value is not None and math.isfinite(value)
                    if status == "FINISHED" and finite:
                        state, kwargs = TrialState.COMPLETE, {"value": value}
                    elif status == "KILLED" and finite:
                        state, kwargs = TrialState.PRUNED, {"intermediate_values": {0: value}}
                    else:
                        state, kwargs = TrialState.FAIL, {}
                    asked = self._asked.pop(run_id, None)
                    if asked is not None:  # asked here: close it (the liar stops lying)
                        if state == TrialState.PRUNED:
                            self.study.tell(asked, state=TrialState.PRUNED)
                        elif state == TrialState.COMPLETE:
                            self.study.tell(asked, value)
                        else:
                            self.study.tell(asked, state=TrialState.FAIL)
                        continue
                    try:
                        self.study.add_trial(
                            create_trial(
                                params=converted,
                                distributions=self.distributions,
                                state=state,
                                **kwargs,
                            )
                        )
                    except ValueError:  # a stored value outside today's distribution
                        continue

    def reseed(self, seed: int) -> None:
        """Draw from a new generator (an agent that finds it shares the sweep with another,
        which may have drawn from the same seed)."""
        with self._lock, warnings.catch_warnings():  # an experimental sampler said so already
            warnings.simplefilter("ignore", self._optuna.exceptions.ExperimentalWarning)
            self.study.sampler = self._sampler(seed)

    def suggest(self) -> tuple[dict[str, Any], int]:
        """(parameters, Optuna trial number): pass the number to :meth:`bind`."""
        with self._lock:
            trial = self.study.ask(self.distributions)
            values = {s.name: _from_optuna(s, trial.params[s.name]) for s in self.searched}
        for spec in self.config.parameters:
            if spec.distribution == "constant":
                values[spec.name] = spec.values[0]
        return {s.name: values[s.name] for s in self.config.parameters}, trial.number

    def bind(self, run_id: str, number: int) -> None:
        with self._lock:
            self._asked[run_id] = number

    def forget(self, number: int) -> None:
        """An asked trial that will not run (another agent took its trial number)."""
        from optuna.trial import TrialState

        with self._lock:
            self.study.tell(number, state=TrialState.FAIL)

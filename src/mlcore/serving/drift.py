"""Data drift between a reference dataset and what a served model saw.

Per feature:

- **PSI** (population stability index) over ten reference-quantile bins (numbers) or over the
  categories (text): ``sum((cur - ref) * ln(cur / ref))``. Customary reading: < 0.1 stable,
  0.1-0.2 moderate shift, >= 0.2 major shift.
- **KS** (two-sample Kolmogorov-Smirnov, numbers only): the largest gap between the two
  empirical distribution functions, and its p-value (scipy's when installed, the asymptotic
  Kolmogorov distribution otherwise).

A feature *drifts* when PSI >= ``psi_threshold`` or the KS p-value < ``p_threshold``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from mlcore.errors import InvalidInputError

__all__ = [
    "PSI_MODERATE",
    "FeatureDrift",
    "compute_drift",
    "ks_2samp",
    "plot_drift",
    "psi_categorical",
    "psi_numeric",
    "read_table",
    "table_columns",
]

PSI_MODERATE = 0.1
_EPS = 1e-4


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    kind: str  # "numeric" or "categorical"
    psi: float
    ks: float | None
    p_value: float | None
    reference_rows: int
    current_rows: int
    drifted: bool

    @property
    def level(self) -> str:
        if self.drifted:
            return "drift"
        return "moderate" if self.psi >= PSI_MODERATE else "stable"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "level": self.level}


def psi_numeric(reference: Any, current: Any, bins: int = 10) -> float:
    import numpy as np

    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    ref = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=len(edges) + 1)
    cur = np.bincount(np.searchsorted(edges, current, side="right"), minlength=len(edges) + 1)
    return _psi(ref, cur)


def psi_categorical(reference: Any, current: Any) -> float:
    import numpy as np

    categories = sorted(set(reference.tolist()) | set(current.tolist()), key=str)
    index = {c: i for i, c in enumerate(categories)}
    ref = np.bincount([index[v] for v in reference.tolist()], minlength=len(categories))
    cur = np.bincount([index[v] for v in current.tolist()], minlength=len(categories))
    return _psi(ref, cur)


def _psi(ref_counts: Any, cur_counts: Any) -> float:
    import numpy as np

    ref = np.maximum(ref_counts / max(ref_counts.sum(), 1), _EPS)
    cur = np.maximum(cur_counts / max(cur_counts.sum(), 1), _EPS)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def ks_2samp(reference: Any, current: Any) -> tuple[float, float]:
    """(statistic, p-value) of the two-sample KS test."""
    import numpy as np

    try:
        from scipy import stats
    except ImportError:
        stats = None
    if stats is not None:
        result = stats.ks_2samp(reference, current)
        return float(result.statistic), float(result.pvalue)
    a, b = np.sort(reference), np.sort(current)
    values = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, values, side="right") / len(a)
    cdf_b = np.searchsorted(b, values, side="right") / len(b)
    statistic = float(np.max(np.abs(cdf_a - cdf_b)))
    return statistic, _kolmogorov_p(statistic, len(a), len(b))


def _kolmogorov_p(d: float, n: int, m: int) -> float:
    en = math.sqrt(n * m / (n + m))
    lam = (en + 0.12 + 0.11 / en) * d
    if lam < 1e-3:
        return 1.0
    total = sum(2 * (-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam) for k in range(1, 101))
    return float(min(max(total, 0.0), 1.0))


def _is_number_column(values: Any) -> bool:
    return bool(values.dtype.kind in "biuf")


def compute_drift(
    reference: Mapping[str, Any],
    current: Mapping[str, Any],
    *,
    features: list[str] | None = None,
    psi_threshold: float = 0.2,
    p_threshold: float = 0.05,
    bins: int = 10,
) -> list[FeatureDrift]:
    """Drift of every feature present in both tables (or of ``features``).

    Raises:
        InvalidInputError: no feature in common, a named feature missing, an empty side.
    """
    import numpy as np

    common = [name for name in reference if name in current]
    if features is not None:
        missing = [f for f in features if f not in reference or f not in current]
        if missing:
            raise InvalidInputError(
                f"feature(s) {missing} are not in both the reference and the logged inputs",
                field="features",
            )
        common = list(features)
    if not common:
        raise InvalidInputError(
            "the reference and the logged inputs have no column in common "
            f"(reference: {sorted(reference)[:10]}, logged: {sorted(current)[:10]})",
            field="reference",
        )
    report = []
    for name in common:
        ref, cur = np.asarray(reference[name]), np.asarray(current[name])
        if _is_number_column(ref) and _is_number_column(cur):
            ref = ref[~np.isnan(ref.astype(float))].astype(float)
            cur = cur[~np.isnan(cur.astype(float))].astype(float)
            if not len(ref) or not len(cur):
                raise InvalidInputError(f"feature {name!r} has no values on one side", field=name)
            psi = psi_numeric(ref, cur, bins)
            ks, p_value = ks_2samp(ref, cur)
            kind = "numeric"
        else:
            ref = np.asarray([str(v) for v in ref if v is not None], dtype=object)
            cur = np.asarray([str(v) for v in cur if v is not None], dtype=object)
            if not len(ref) or not len(cur):
                raise InvalidInputError(f"feature {name!r} has no values on one side", field=name)
            psi, ks, p_value, kind = psi_categorical(ref, cur), None, None, "categorical"
        drifted = psi >= psi_threshold or (p_value is not None and p_value < p_threshold)
        report.append(FeatureDrift(name, kind, psi, ks, p_value, len(ref), len(cur), bool(drifted)))
    return report


# -- datasets --------------------------------------------------------------------------------------
def read_table(path: str) -> dict[str, Any]:
    """A CSV, Parquet or JSON-lines file as ``{column: ndarray}``."""
    if not os.path.isfile(path):
        raise InvalidInputError(f"reference dataset {path!r} is not a file", field="reference")
    lower = path.lower()
    try:
        if lower.endswith((".parquet", ".pq")):
            import pyarrow.parquet as pq

            table = pq.read_table(path)
        elif lower.endswith((".jsonl", ".ndjson", ".json")):
            import pyarrow.json as pj

            table = pj.read_json(path)
        else:
            import pyarrow.csv as pc

            table = pc.read_csv(path)
    except Exception as exc:  # pyarrow's errors for unreadable files
        raise InvalidInputError(
            f"cannot read reference dataset {path!r}: {exc}", field="reference"
        ) from exc
    return table_columns(table)


def table_columns(table: Any) -> dict[str, Any]:
    return {name: table[name].to_numpy(zero_copy_only=False) for name in table.column_names}


# -- plot ------------------------------------------------------------------------------------------
def plot_drift(
    report: list[FeatureDrift],
    reference: Mapping[str, Any],
    current: Mapping[str, Any],
    path: str,
    *,
    max_features: int = 12,
) -> str:
    """Histograms of reference vs logged values per feature, titled with PSI and KS."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import numpy as np

    shown = sorted(report, key=lambda r: -r.psi)[:max_features]
    cols = min(3, len(shown))
    rows = math.ceil(len(shown) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, item in zip(axes.flat, shown):
        ref, cur = np.asarray(reference[item.feature]), np.asarray(current[item.feature])
        if item.kind == "numeric":
            ref = ref.astype(float)[~np.isnan(ref.astype(float))]
            cur = cur.astype(float)[~np.isnan(cur.astype(float))]
            edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins=30)
            ax.hist(ref, bins=edges, density=True, alpha=0.55, label="reference")
            ax.hist(cur, bins=edges, density=True, alpha=0.55, label="served")
        else:
            cats = sorted({str(v) for v in ref} | {str(v) for v in cur})[:20]
            x = np.arange(len(cats))
            ref_share = [np.mean([str(v) == c for v in ref]) for c in cats]
            cur_share = [np.mean([str(v) == c for v in cur]) for c in cats]
            ax.bar(x - 0.2, ref_share, 0.4, label="reference")
            ax.bar(x + 0.2, cur_share, 0.4, label="served")
            ax.set_xticks(x, cats, rotation=45, fontsize=7)
        title = f"{item.feature}: PSI {item.psi:.3f}"
        if item.ks is not None:
            title += f", KS {item.ks:.3f}"
        ax.set_title(title, color="tab:red" if item.drifted else "black", fontsize=9)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(shown) :]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

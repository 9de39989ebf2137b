"""Honest comparison of candidates: confidence intervals and the corrected resampled t-test.

Cross-validation folds share most of their training rows, so the per-fold scores of one
model are positively correlated and the plain t-test over folds is far too confident.
Nadeau and Bengio (2003, "Inference for the generalization error", Machine Learning 52)
correct the variance of the mean of ``J`` resampled estimates by replacing ``1/J`` with
``1/J + n_test/n_train``:

    t = mean(d) / sqrt((1/J + n_test/n_train) * var(d)),   d_j = a_j - b_j,

with ``var`` the sample variance (``ddof=1``) and ``J - 1`` degrees of freedom (Bouckaert
and Frank, 2004, for repeated k-fold). The same corrected standard error gives each
model's confidence interval. Scores are in the metric's own units.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

#: significance level of the comparison with the best candidate (two-sided)
ALPHA = 0.05


def n_test_over_n_train(folds: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """``n_test / n_train`` of a protocol's folds (means over folds), the correction term."""
    n_train = float(np.mean([len(tr) for tr, _ in folds]))
    n_test = float(np.mean([len(va) for _, va in folds]))
    return n_test / n_train if n_train > 0 else float("nan")


def corrected_variance_factor(n_folds: int, ratio: float) -> float:
    """``1/J + n_test/n_train``: what multiplies the sample variance of the fold scores."""
    return 1.0 / n_folds + ratio


def _paired(a: list[float], b: list[float]) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


def corrected_ttest(
    a: list[float], b: list[float], ratio: float, alternative: str = "two-sided"
) -> dict[str, float]:
    """Nadeau–Bengio corrected resampled t-test of fold scores ``a`` against ``b``.

    ``a`` and ``b`` are scores of two models on the *same* folds (pairs with a NaN are
    dropped); ``ratio`` is ``n_test / n_train``. ``alternative`` is ``"two-sided"`` or
    ``"greater"`` (mean of ``a - b`` above zero). Returns the mean difference, its corrected
    standard error, ``t``, degrees of freedom and the p-value; ``p`` is NaN with fewer than
    two pairs. Identical fold scores give ``p = 1``.
    """
    x, y = _paired(a, b)
    d = x - y
    j = len(d)
    out = {"mean_diff": float(np.mean(d)) if j else float("nan"), "n_folds": j}
    if j < 2:
        return {**out, "se": float("nan"), "t": float("nan"), "df": j - 1, "p": float("nan")}
    var = float(np.var(d, ddof=1))
    se = math.sqrt(corrected_variance_factor(j, ratio) * var)
    mean = out["mean_diff"]
    if se == 0.0:
        t = 0.0 if mean == 0 else math.copysign(math.inf, mean)
    else:
        t = mean / se
    df = j - 1
    if alternative == "greater":
        p = float(stats.t.sf(t, df))
    elif alternative == "two-sided":
        p = float(2 * stats.t.sf(abs(t), df))
    else:
        raise ValueError(f"unknown alternative {alternative!r}")
    return {**out, "se": se, "t": float(t), "df": df, "p": min(1.0, p)}


def corrected_interval(
    scores: list[float], ratio: float, level: float = 0.95
) -> tuple[float, float]:
    """Confidence interval of the mean fold score with the corrected standard error."""
    x = np.asarray(scores, dtype=float)
    x = x[np.isfinite(x)]
    j = len(x)
    if j < 2:
        return float("nan"), float("nan")
    se = math.sqrt(corrected_variance_factor(j, ratio) * float(np.var(x, ddof=1)))
    half = float(stats.t.ppf(0.5 + level / 2, j - 1)) * se
    m = float(np.mean(x))
    return m - half, m + half


def add_comparison(
    leaderboard: pd.DataFrame,
    fold_scores: dict[str, list[float]],
    folds: list[tuple[np.ndarray, np.ndarray]],
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """The leaderboard with ``ci_low``, ``ci_high``, ``p_vs_best`` and ``tied_with_best``.

    The best row is rank 1. ``p_vs_best`` is the two-sided corrected t-test of each
    complete candidate's fold scores against the best's; ``tied_with_best`` is True when
    ``p_vs_best >= alpha`` (not distinguishable from the best) and for the best itself,
    and missing when no test is possible (a single holdout, or a candidate without scores
    on the same folds).
    """
    lb = leaderboard.copy()
    ratio = n_test_over_n_train(folds)
    best_name = str(lb.iloc[0]["model"]) if len(lb) else None
    best = fold_scores.get(best_name or "", [])
    lows, highs, ps, tied = [], [], [], []
    for _, row in lb.iterrows():
        scores = fold_scores.get(str(row["model"]))
        if row["status"] != "complete" or not scores:
            lows.append(None), highs.append(None), ps.append(None), tied.append(None)
            continue
        lo, hi = corrected_interval(scores, ratio)
        lows.append(_num(lo))
        highs.append(_num(hi))
        if str(row["model"]) == best_name:
            ps.append(None)
            tied.append(True if len(best) > 1 else None)
            continue
        if len(scores) != len(best):
            ps.append(None), tied.append(None)
            continue
        p = corrected_ttest(scores, best, ratio)["p"]
        ps.append(_num(p))
        tied.append(bool(p >= alpha) if math.isfinite(p) else None)
    lb["ci_low"] = pd.array(lows, dtype="Float64")
    lb["ci_high"] = pd.array(highs, dtype="Float64")
    lb["p_vs_best"] = pd.array(ps, dtype="Float64")
    lb["tied_with_best"] = pd.array(tied, dtype="boolean")
    return lb


def comparison_summary(lb: pd.DataFrame, folds: list[tuple[np.ndarray, np.ndarray]]) -> dict:
    """What the report says about the comparison: method, correction and the tied set."""
    ratio = n_test_over_n_train(folds)
    tied = lb[lb["tied_with_best"].fillna(False).astype(bool)]["model"].astype(str).tolist()
    return {
        "method": "Nadeau-Bengio corrected resampled t-test (two-sided) against the best",
        "alpha": ALPHA,
        "n_folds": len(folds),
        "n_test_over_n_train": ratio,
        "variance_factor": corrected_variance_factor(len(folds), ratio) if folds else None,
        "tied_with_best": tied,
        "testable": len(folds) > 1,
    }


def _num(v: float) -> float | None:
    return float(v) if v is not None and math.isfinite(v) else None


def jsonable_rows(lb: pd.DataFrame, limit: int | None = None) -> list[dict[str, Any]]:
    """Leaderboard rows as plain JSON values (NA -> None)."""
    import json

    rows = lb if limit is None else lb.head(limit)
    return json.loads(rows.to_json(orient="records"))

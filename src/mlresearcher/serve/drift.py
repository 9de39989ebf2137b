"""Drift between a run's training reference and new data: features, predictions, performance.

Each input column is compared on a view that fits its role: numbers as they are, dates as
days since 1970, free text by its word count, categories by level (the 20 most common
reference levels, the rest pooled as ``__other__``, missing as ``__missing__``).

For each column two numbers are reported:

* **PSI**, the population stability index, over ten reference-quantile bins (plus one for
  missing values) or over the category levels: ``sum((q - p) * ln(q / p))`` with the
  reference shares ``p`` and the new shares ``q`` floored at 1e-4. It measures *how much*
  the distribution moved; 0.1 is the usual line for a material shift.
* **a two-sample test**: Kolmogorov-Smirnov for numbers, chi-squared on the level counts
  for categories. Its p-value is Bonferroni-adjusted for the number of tests made.

A column (or the predictions) **drifts** when the shift is both material and significant:
``PSI >= psi_threshold`` (default 0.1) and adjusted ``p < alpha`` (default 0.01). Requiring
both keeps small samples (noisy PSI) and very large ones (tiny but significant shifts)
from raising false alarms.

Prediction drift compares the model's predictions on the new rows with its out-of-fold
predictions on the reference rows: the value (regression), the positive-class
probability (binary) or the predicted class (multiclass). With labels, performance is the
run's metric on the new rows against the run's cross-validated estimate; it has degraded
when the new score is worse by more than ``perf_tolerance`` (relative, default 5 %) and
its 95 % bootstrap interval lies wholly on the worse side of the estimate.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pandas as pd

from mlresearcher.data.schema import Schema, _parse_datetime
from mlresearcher.serve.reference import PRED_COLUMN, PROBA_PREFIX

PSI_BINS = 10
TOP_LEVELS = 20
PSI_FLOOR = 1e-4
MISSING = "__missing__"
OTHER = "__other__"
#: fewer new rows than this give no verdict on a column
MIN_ROWS = 30
PSI_THRESHOLD = 0.1
ALPHA = 0.01
PERF_TOLERANCE = 0.05
BOOTSTRAP = 200


def _psi(p: np.ndarray, q: np.ndarray) -> float:
    p = np.maximum(p / max(p.sum(), 1), PSI_FLOOR)
    q = np.maximum(q / max(q.sum(), 1), PSI_FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def numeric_shift(ref: np.ndarray, new: np.ndarray) -> dict[str, Any]:
    """PSI over reference-quantile bins (plus a missing bin) and the KS test."""
    from scipy.stats import ks_2samp

    ref = np.asarray(ref, dtype=float)
    new = np.asarray(new, dtype=float)
    r_ok, n_ok = ref[~np.isnan(ref)], new[~np.isnan(new)]
    edges = (
        np.unique(np.quantile(r_ok, np.linspace(0, 1, PSI_BINS + 1)[1:-1]))
        if r_ok.size
        else np.array([])
    )
    bins = len(edges) + 1
    p = np.bincount(np.searchsorted(edges, r_ok, side="right"), minlength=bins).astype(float)
    q = np.bincount(np.searchsorted(edges, n_ok, side="right"), minlength=bins).astype(float)
    p = np.append(p, ref.size - r_ok.size)
    q = np.append(q, new.size - n_ok.size)
    if r_ok.size and n_ok.size:
        ks = ks_2samp(r_ok, n_ok)
        stat, pval = float(ks.statistic), float(ks.pvalue)
    else:
        stat, pval = float("nan"), 1.0
    return {
        "test": "ks",
        "psi": _psi(p, q),
        "statistic": stat,
        "p_value": pval,
        "reference_mean": float(np.mean(r_ok)) if r_ok.size else None,
        "current_mean": float(np.mean(n_ok)) if n_ok.size else None,
        "reference_missing": float(1 - r_ok.size / max(ref.size, 1)),
        "current_missing": float(1 - n_ok.size / max(new.size, 1)),
    }


def categorical_shift(ref: np.ndarray, new: np.ndarray) -> dict[str, Any]:
    """PSI and the chi-squared test over the top reference levels, others and missing."""
    from scipy.stats import chi2_contingency

    r = pd.Series(ref, dtype=object).fillna(MISSING)
    c = pd.Series(new, dtype=object).fillna(MISSING)
    top = [v for v in r.value_counts().index if v != MISSING][:TOP_LEVELS]
    levels = [*top, OTHER, MISSING]

    def counts(s: pd.Series) -> np.ndarray:
        s = s.where(s.isin(top) | (s == MISSING), OTHER)
        return s.value_counts().reindex(levels, fill_value=0).to_numpy(dtype=float)

    p, q = counts(r), counts(c)
    keep = (p + q) > 0
    table = np.vstack([p[keep], q[keep]])
    if table.shape[1] >= 2 and table.sum(axis=1).min() > 0:
        res = chi2_contingency(table)
        stat, pval = float(res.statistic), float(res.pvalue)
    else:
        stat, pval = float("nan"), 1.0
    share = q / max(q.sum(), 1)
    ref_share = p / max(p.sum(), 1)
    moved = np.argsort(-np.abs(share - ref_share))[:3]
    return {
        "test": "chi2",
        "psi": _psi(p, q),
        "statistic": stat,
        "p_value": pval,
        "largest_changes": [
            {"level": levels[i], "reference": float(ref_share[i]), "current": float(share[i])}
            for i in moved
            if share[i] != ref_share[i]
        ],
        "reference_missing": float(ref_share[-1]),
        "current_missing": float(share[-1]),
    }


def column_view(s: pd.Series, role: str) -> tuple[str, np.ndarray]:
    """The values a column is compared on: ``("numeric", floats)`` or ``("categorical", objs)``."""
    if role == "numeric":
        v = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan, copy=True)
        v[~np.isfinite(v)] = np.nan
        return "numeric", v
    if role == "datetime":
        d = _parse_datetime(s)
        days = (d - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400.0
        return "numeric", pd.to_numeric(days, errors="coerce").to_numpy(dtype="float64")
    if role == "text":
        words = s.map(lambda v: len(v.split()) if isinstance(v, str) else np.nan)
        return "numeric", pd.to_numeric(words, errors="coerce").to_numpy(dtype="float64")
    values = s.astype(object).where(s.notna(), None)
    return "categorical", np.array(
        [None if v is None else (v if isinstance(v, str) else str(v)) for v in values],
        dtype=object,
    )


def _verdict(
    res: dict[str, Any], n_tests: int, psi_threshold: float, alpha: float, n: int
) -> dict[str, Any]:
    res["p_adjusted"] = (
        min(1.0, res["p_value"] * n_tests) if not math.isnan(res["p_value"]) else 1.0
    )
    enough = n >= MIN_ROWS
    res["drifted"] = bool(enough and res["psi"] >= psi_threshold and res["p_adjusted"] < alpha)
    if not enough:
        res["note"] = f"fewer than {MIN_ROWS} rows; no verdict"
    return res


def _prediction_view(task: str, scores: np.ndarray, classes: list[Any]) -> tuple[str, np.ndarray]:
    if task == "regression":
        return "numeric", np.asarray(scores, dtype=float)
    scores = np.asarray(scores, dtype=float)
    if task == "binary":
        return "numeric", scores[:, 1]
    ok = ~np.isnan(scores).any(axis=1)
    labels = np.full(len(scores), None, dtype=object)
    labels[ok] = np.asarray([str(c) for c in classes], dtype=object)[np.argmax(scores[ok], axis=1)]
    return "categorical", labels


def reference_scores(reference: pd.DataFrame, task: str, classes: list[Any]) -> np.ndarray:
    """Out-of-fold scores of the reference rows (NaN where a row was never validated)."""
    if task == "regression":
        return reference[PRED_COLUMN].to_numpy(dtype=float)
    return reference[[f"{PROBA_PREFIX}{c}" for c in classes]].to_numpy(dtype=float)


def performance(
    metric: Any,
    y_true: np.ndarray,
    scores: np.ndarray,
    reference_score: float | None,
    tolerance: float,
    seed: int = 0,
) -> dict[str, Any]:
    """The metric on labelled new rows, its bootstrap interval, and whether it degraded."""
    score = float(metric(y_true, scores))
    rng = np.random.default_rng(seed)
    n = len(y_true)
    boot = []
    for _ in range(BOOTSTRAP):
        idx = rng.integers(0, n, n)
        try:
            boot.append(float(metric(y_true[idx], scores[idx])))
        except ValueError:  # a resample with a single class for AUC
            continue
    lo, hi = np.percentile(boot, [2.5, 97.5]).tolist() if boot else (score, score)
    out: dict[str, Any] = {
        "metric": metric.name,
        "greater_is_better": metric.greater_is_better,
        "current": score,
        "current_interval_95": [lo, hi],
        "training_estimate": reference_score,
        "n_labelled": int(n),
        "degraded": False,
    }
    if reference_score is not None:
        shortfall = (
            (reference_score - score) if metric.greater_is_better else (score - reference_score)
        )
        whole_interval_worse = (
            hi < reference_score if metric.greater_is_better else lo > reference_score
        )
        out["shortfall"] = shortfall
        out["degraded"] = bool(
            shortfall > tolerance * max(abs(reference_score), 1e-12) and whole_interval_worse
        )
    return out


def drift_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    schema: Schema,
    *,
    task: str,
    classes: list[Any] | None,
    current_scores: np.ndarray | None,
    psi_threshold: float = PSI_THRESHOLD,
    alpha: float = ALPHA,
    performance_result: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Compare ``current`` rows (input columns) and scores with the run's ``reference``."""
    roles = {c.name: c.role for c in schema.columns}
    inputs = [c for c in schema.input_columns if c in reference.columns]
    n_tests = len(inputs) + (1 if current_scores is not None else 0)
    n = len(current)
    features = []
    for name in inputs:
        kind, ref_v = column_view(reference[name], roles[name])
        _, cur_v = column_view(current[name], roles[name])
        res = numeric_shift(ref_v, cur_v) if kind == "numeric" else categorical_shift(ref_v, cur_v)
        features.append(
            {"column": name, "role": roles[name], **_verdict(res, n_tests, psi_threshold, alpha, n)}
        )
    prediction = None
    if current_scores is not None:
        ref_scores = reference_scores(reference, task, classes or [])
        valid = ~np.isnan(ref_scores.reshape(len(ref_scores), -1)).any(axis=1)
        kind, ref_p = _prediction_view(task, ref_scores[valid], classes or [])
        _, cur_p = _prediction_view(task, current_scores, classes or [])
        res = numeric_shift(ref_p, cur_p) if kind == "numeric" else categorical_shift(ref_p, cur_p)
        prediction = {
            "compared": {
                "regression": "predicted value",
                "binary": f"probability of {classes[1] if classes else 'class 1'!s}",
                "multiclass": "predicted class",
            }[task],
            **_verdict(res, n_tests, psi_threshold, alpha, n),
        }
    drifted = [f["column"] for f in features if f["drifted"]]
    reasons = []
    if drifted:
        reasons.append(f"{len(drifted)} feature(s) drifted: {', '.join(drifted[:10])}")
    if prediction is not None and prediction["drifted"]:
        reasons.append("predictions drifted")
    if performance_result is not None and performance_result["degraded"]:
        reasons.append(f"{performance_result['metric']} degraded")
    return {
        "drift": bool(reasons),
        "reasons": reasons,
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "n_reference": int(len(reference)),
        "n_current": int(n),
        "thresholds": {
            "psi": psi_threshold,
            "alpha": alpha,
            "bonferroni_tests": n_tests,
            "min_rows": MIN_ROWS,
        },
        "n_drifted_features": len(drifted),
        "features": sorted(features, key=lambda f: (-f["drifted"], -f["psi"])),
        "prediction": prediction,
        "performance": performance_result,
    }


__all__ = [
    "ALPHA",
    "PSI_THRESHOLD",
    "categorical_shift",
    "column_view",
    "drift_report",
    "numeric_shift",
    "performance",
    "reference_scores",
]

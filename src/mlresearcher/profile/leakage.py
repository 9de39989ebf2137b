"""Leakage suspects and associations with the target.

* **Single-column score**: each column alone, coded (see :mod:`._codes`) and scored by
  5-fold cross-validation of a per-code mean model: ROC AUC for classification (macro
  one-vs-rest for several classes), R^2 for regression. A legitimate feature seldom
  predicts the target almost perfectly on its own; one that does is usually the target
  recorded another way, or information from after the outcome.
* **Near-copy of the target**: a column that is a relabelling of the classes (each of its
  values maps to one class for at least 99.5 % of rows) or, for regression, whose Pearson
  or Spearman correlation with the target is at least 0.995 in absolute value.
* **Informative missingness**: whether a value is missing differs by target (chi-squared
  test for classes, Welch's t-test for a numeric target), with its effect size.
* **Timestamps after the prediction time**: with a reference time column (the moment the
  prediction is made, ``--time``), a datetime column whose values mostly fall after it was
  probably recorded after the outcome could be known.
* **Associations**: mutual information of each column with the target (scikit-learn's
  nearest-neighbour estimator for numeric columns, contingency counts for discrete ones).

All of these are computed on a row sample and only *report*: nothing here changes the
features a run trains on, so no statistic reaches the cross-validation.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from mlresearcher.data.task import Target
from mlresearcher.findings import Finding
from mlresearcher.profile._codes import codes, fold_ids, numeric_values, oof_predict

LEAK_AUC = 0.99
LEAK_R2 = 0.98
COPY_PURITY = 0.995
COPY_CORR = 0.995
MISSING_P = 1e-3
MISSING_EFFECT = 0.1  # Cramer's V (classes) or |Cohen's d| / 2 (numeric target)
FUTURE_SHARE = 0.5


def target_matrix(target: Target) -> np.ndarray:
    """The target as an (n, d) float matrix: one-hot classes or the value itself."""
    if target.task == "regression":
        return target.y.astype("float64")[:, None]
    k = target.n_classes
    return np.eye(k)[target.y]


def auc(positive: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC by the Mann-Whitney rank sum (ties get average ranks), as ``roc_auc_score``."""
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = stats.rankdata(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def score_oof(target: Target, y: np.ndarray, pred: np.ndarray) -> float:
    """ROC AUC (classification, macro one-vs-rest) or R^2 (regression) of ``pred``."""
    if target.task == "regression":
        resid = ((y - pred[:, 0]) ** 2).sum()
        total = ((y - y.mean()) ** 2).sum()
        return float(1 - resid / total) if total > 0 else 0.0
    if pred.shape[1] == 2:
        return auc(y == 1, pred[:, 1])
    return float(np.mean([auc(y == c, pred[:, c]) for c in np.unique(y)]))


def single_column_scores(
    X: pd.DataFrame, roles: dict[str, str], target: Target, seed: int, k: int = 5
) -> dict[str, float]:
    """Each column's own cross-validated score (see the module doc)."""
    Y = target_matrix(target)
    strat = target.y if target.task != "regression" else None
    folds = fold_ids(len(X), k, seed, strat)
    out = {}
    for name in X.columns:
        c = codes(X[name], roles[name])
        if np.unique(c).size < 2:
            continue
        out[str(name)] = round(score_oof(target, target.y, oof_predict(c, Y, folds)), 6)
    return out


def single_column_findings(scores: dict[str, float], task: str) -> list[Finding]:
    threshold = LEAK_R2 if task == "regression" else LEAK_AUC
    unit = "R^2" if task == "regression" else "ROC AUC"
    out = []
    for col, s in scores.items():
        if s >= threshold:
            out.append(
                Finding(
                    "leakage_single_column",
                    "critical",
                    f"column {col!r} alone predicts the target almost perfectly "
                    f"(cross-validated {unit} {s:.4f}): a leakage suspect",
                    column=col,
                    evidence={"score": s, "score_name": unit, "threshold": threshold, "folds": 5},
                    action="check how the column is recorded; if it is only known after the "
                    "outcome, drop it before the run",
                )
            )
    return out


def target_copy_findings(
    X: pd.DataFrame, roles: dict[str, str], target: Target, scores: dict[str, float]
) -> list[Finding]:
    out = []
    for name in X.columns:
        col = str(name)
        ev: dict[str, Any] | None = None
        if target.task == "regression":
            v = numeric_values(X[name], roles[col])
            if v is None:
                continue
            ok = ~np.isnan(v)
            if ok.sum() < 10 or np.nanstd(v) == 0:
                continue
            r = float(np.corrcoef(v[ok], target.y[ok])[0, 1])
            rho = float(stats.spearmanr(v[ok], target.y[ok]).statistic)
            if max(abs(r), abs(rho)) >= COPY_CORR:
                ev = {"pearson": round(r, 6), "spearman": round(rho, 6)}
        else:
            c = codes(X[name], roles[col])
            k = target.n_classes
            m = int(c.max()) + 1
            table = np.bincount(c * k + target.y, minlength=m * k).reshape(m, k)
            seen = table.sum(axis=1) > 0
            if seen.sum() > max(2 * k, 50):
                continue  # too many values for a relabelling of the classes
            purity = float(table.max(axis=1).sum() / len(c))
            if purity >= COPY_PURITY:
                ev = {"purity": round(purity, 6), "n_values": int(seen.sum())}
        if ev is not None:
            out.append(
                Finding(
                    "leakage_target_copy",
                    "critical",
                    f"column {col!r} is a near-copy of the target: a leakage suspect",
                    column=col,
                    evidence={**ev, "single_column_score": scores.get(col)},
                    action="drop it unless it is truly known before the outcome",
                )
            )
    return out


def missingness_association(s: pd.Series, target: Target) -> dict[str, Any] | None:
    """Test whether ``s`` being missing depends on the target; None when it cannot vary."""
    miss = s.isna().to_numpy()
    n_miss = int(miss.sum())
    if n_miss == 0 or n_miss == len(miss):
        return None
    if target.task == "regression":
        a, b = target.y[miss], target.y[~miss]
        if a.size < 2 or b.size < 2:
            return None
        t = stats.ttest_ind(a, b, equal_var=False)
        pooled = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
        d = float((a.mean() - b.mean()) / pooled) if pooled > 0 else 0.0
        return {
            "test": "welch_t",
            "p_value": float(t.pvalue),
            "cohens_d": round(d, 4),
            "effect": round(abs(d) / 2, 4),
            "target_mean_missing": float(a.mean()),
            "target_mean_present": float(b.mean()),
        }
    k = target.n_classes
    table = np.bincount(miss.astype(np.int64) * k + target.y, minlength=2 * k)
    table = table.reshape(2, k).astype("float64")
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return None
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    v = float(np.sqrt(chi2 / (table.sum() * (min(table.shape) - 1))))
    rates = table / table.sum(axis=1, keepdims=True)
    return {
        "test": "chi2",
        "p_value": float(p),
        "cramers_v": round(v, 4),
        "effect": round(v, 4),
        "class_share_missing": [round(float(x), 4) for x in rates[1]],
        "class_share_present": [round(float(x), 4) for x in rates[0]],
    }


def missingness_finding(col: str, ev: dict[str, Any]) -> Finding:
    how = (
        f"Cramer's V {ev['cramers_v']:.2f}"
        if ev["test"] == "chi2"
        else f"Cohen's d {ev['cohens_d']:.2f}"
    )
    return Finding(
        "informative_missingness",
        "warning",
        f"whether {col!r} is missing predicts the target ({how}, p = {ev['p_value']:.1e})",
        column=col,
        evidence=ev,
        action="if missingness is recorded after the outcome it is a leak (drop the column); "
        "otherwise it is signal the models already see",
    )


def future_timestamp_findings(
    X: pd.DataFrame, roles: dict[str, str], reference: str
) -> list[Finding]:
    ref = numeric_values(X[reference], "datetime")
    out = []
    for name in X.columns:
        col = str(name)
        if col == reference or roles.get(col) != "datetime":
            continue
        v = numeric_values(X[name], "datetime")
        both = ~np.isnan(v) & ~np.isnan(ref)
        if both.sum() == 0:
            continue
        later = float(np.mean(v[both] > ref[both]))
        if later >= FUTURE_SHARE:
            out.append(
                Finding(
                    "leakage_future_timestamp",
                    "warning",
                    f"column {col!r} is later than the prediction time {reference!r} in "
                    f"{later:.0%} of rows: it may be recorded after the outcome",
                    column=col,
                    evidence={
                        "share_later": round(later, 4),
                        "reference": reference,
                        "median_lag_days": round(float(np.median(v[both] - ref[both])) / 86400, 3),
                    },
                    action="use only information available at the prediction time; drop the "
                    "column or replace it with a value known then",
                )
            )
    return out


def mutual_information(
    X: pd.DataFrame, roles: dict[str, str], target: Target, seed: int
) -> dict[str, float]:
    """Mutual information (nats) of each column with the target."""
    from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

    cols, mats, discrete = [], [], []
    for name in X.columns:
        col = str(name)
        v = numeric_values(X[name], roles[col])
        if v is not None and roles[col] in ("numeric", "datetime"):
            if np.all(np.isnan(v)):
                continue
            # missing -> the median, plus a jitter-free flag is not needed for a ranking
            med = np.nanmedian(v)
            mats.append(np.where(np.isnan(v), med, v))
            discrete.append(False)
        else:
            mats.append(codes(X[name], roles[col]).astype("float64"))
            discrete.append(True)
        cols.append(col)
    if not cols:
        return {}
    M = np.column_stack(mats)
    if target.task == "regression":
        mi = mutual_info_regression(
            M, target.y, discrete_features=np.array(discrete), random_state=seed
        )
    else:
        mi = mutual_info_classif(
            M, target.y, discrete_features=np.array(discrete), random_state=seed
        )
    return {c: round(float(m), 6) for c, m in zip(cols, mi, strict=True)}


def association_finding(mi: dict[str, float], top: int = 5) -> Finding | None:
    ranked = sorted(mi.items(), key=lambda kv: -kv[1])[:top]
    ranked = [(c, m) for c, m in ranked if m > 0]
    if not ranked:
        return Finding(
            "no_association",
            "warning",
            "no column shows any association with the target (mutual information 0)",
            evidence={"mutual_information": mi},
            action="check the target column and the join of features to targets",
        )
    return Finding(
        "strongest_associations",
        "info",
        "strongest associations with the target: " + ", ".join(f"{c} ({m:.3f})" for c, m in ranked),
        evidence={"mutual_information_nats": dict(ranked)},
        action="none needed; a starting point for reading the data",
    )

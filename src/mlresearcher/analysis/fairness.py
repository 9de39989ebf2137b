"""Whom the model fails: per-group metrics for each sensitive column (Fairlearn).

For each ``--sensitive`` column, on the final model's out-of-fold predictions (most
probable class):

* classification: Fairlearn's ``MetricFrame`` with count, selection rate, true positive
  rate, false positive rate and accuracy per group, and the demographic-parity and
  equalized-odds differences; a binary task uses its positive class (the second class), a
  multiclass task repeats this one class against the rest for every class;
* regression: count, mean absolute error, root mean squared error and mean prediction
  per group.

Numeric columns with more than ``MAX_LEVELS`` values are cut into quartiles; missing values
form their own group. A gap is **flagged** when the demographic-parity or equalized-odds
difference exceeds ``GAP`` (classification) or the worst group's mean absolute error is
more than ``MAE_RATIO`` times the best group's (regression). Groups with fewer than
``SMALL_GROUP`` rows are marked: their rates are noisy.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

GAP = 0.1
MAE_RATIO = 1.25
SMALL_GROUP = 30
MAX_LEVELS = 10


def group_labels(values: pd.Series) -> pd.Series:
    """Sensitive values as group labels: strings, quartiles for many-valued numbers."""
    s = pd.Series(values).reset_index(drop=True)
    if pd.api.types.is_numeric_dtype(s) and s.nunique(dropna=True) > MAX_LEVELS:
        cut = pd.qcut(s, 4, duplicates="drop")
        labels = cut.astype(str)
    else:
        labels = s.astype(object).map(lambda v: str(v))
    labels[s.isna().to_numpy()] = "(missing)"
    return labels.astype(str).rename(str(values.name))


def _frame_rows(mf: Any) -> list[dict[str, Any]]:
    table = mf.by_group.reset_index()
    table.columns = [str(c) for c in table.columns]
    return [
        {k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()}
        for r in table.to_dict("records")
    ]


def _classification(y: np.ndarray, pred: np.ndarray, groups: pd.Series, classes: list) -> dict:
    from fairlearn.metrics import (
        MetricFrame,
        count,
        demographic_parity_difference,
        equalized_odds_difference,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score

    positives = [1] if len(classes) == 2 else list(range(len(classes)))
    per_class = []
    for c in positives:
        yt, yp = (y == c).astype(int), (pred == c).astype(int)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mf = MetricFrame(
                metrics={
                    "count": count,
                    "selection_rate": selection_rate,
                    "tpr": true_positive_rate,
                    "fpr": false_positive_rate,
                    "accuracy": accuracy_score,
                },
                y_true=yt,
                y_pred=yp,
                sensitive_features=groups,
            )
            dp = float(demographic_parity_difference(yt, yp, sensitive_features=groups))
            eo = float(equalized_odds_difference(yt, yp, sensitive_features=groups))
        per_class.append(
            {
                "positive_class": str(classes[c]),
                "by_group": _frame_rows(mf),
                "overall": {k: float(v) for k, v in mf.overall.items()},
                "demographic_parity_difference": dp,
                "equalized_odds_difference": eo,
                "flagged": bool(dp > GAP or eo > GAP),
            }
        )
    return {"per_class": per_class, "flagged": any(p["flagged"] for p in per_class)}


def _regression(y: np.ndarray, pred: np.ndarray, groups: pd.Series) -> dict:
    from fairlearn.metrics import MetricFrame, count
    from sklearn.metrics import mean_absolute_error, mean_squared_error

    def rmse(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.sqrt(mean_squared_error(a, b)))

    def mean_prediction(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.mean(b))

    mf = MetricFrame(
        metrics={
            "count": count,
            "mae": mean_absolute_error,
            "rmse": rmse,
            "mean_prediction": mean_prediction,
        },
        y_true=y,
        y_pred=pred,
        sensitive_features=groups,
    )
    mae = mf.by_group["mae"]
    ratio = float(mae.max() / mae.min()) if mae.min() > 0 else float("inf")
    return {
        "by_group": _frame_rows(mf),
        "overall": {k: float(v) for k, v in mf.overall.items()},
        "mae_difference": float(mf.difference()["mae"]),
        "mae_ratio_worst_to_best": ratio,
        "flagged": bool(ratio > MAE_RATIO),
    }


def fairness(
    sensitive: pd.DataFrame, y: np.ndarray, scores: np.ndarray, task: str, classes: list | None
) -> dict[str, Any]:
    """Per-group metrics and gaps for every column of ``sensitive`` (rows aligned with ``y``)."""
    pred = scores if task == "regression" else np.argmax(scores, axis=1)
    columns = []
    for col in sensitive.columns:
        groups = group_labels(sensitive[col])
        res = (
            _regression(y, pred, groups)
            if task == "regression"
            else _classification(y, pred, groups, classes or [])
        )
        sizes = groups.value_counts()
        columns.append(
            {
                "column": str(col),
                "n_groups": int(len(sizes)),
                "small_groups": [str(g) for g, n in sizes.items() if n < SMALL_GROUP],
                **res,
            }
        )
    return {
        "thresholds": {"gap": GAP, "mae_ratio": MAE_RATIO, "small_group": SMALL_GROUP},
        "predictions": "out-of-fold predictions of the final model (most probable class)",
        "columns": columns,
        "flagged": [c["column"] for c in columns if c["flagged"]],
    }

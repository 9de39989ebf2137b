"""Test-set metrics of the benchmark, direction-aware.

``score(metric, y_true, pred, classes=..., positive_class=...)``: ``pred`` holds class
probabilities (columns in the order of ``classes``) for classification and values for
regression. Class labels are compared as strings, so a label stored as ``1`` in the
manifest matches ``1``, ``"1"`` or ``1.0`` read back from Parquet.
"""

from __future__ import annotations

from typing import Any

import numpy as np

GREATER_IS_BETTER = {"roc_auc": True, "log_loss": False, "rmse": False, "accuracy": True}


def _label(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v)


def score(
    metric: str,
    y_true: Any,
    pred: np.ndarray,
    *,
    classes: list[Any] | None = None,
    positive_class: Any = None,
) -> float:
    from sklearn.metrics import log_loss, roc_auc_score

    y = np.asarray(y_true)
    if metric == "rmse":
        return float(np.sqrt(np.mean((y.astype(float) - np.asarray(pred, float).ravel()) ** 2)))
    if classes is None:
        raise ValueError(f"metric {metric} needs class probabilities and their classes")
    labels = [_label(c) for c in classes]
    proba = np.asarray(pred, dtype=float)
    proba = np.clip(proba, 1e-15, None)
    proba = proba / proba.sum(axis=1, keepdims=True)
    ys = np.array([_label(v) for v in y])
    if metric == "roc_auc":
        pos = _label(positive_class) if positive_class is not None else sorted(labels)[-1]
        return float(roc_auc_score(ys == pos, proba[:, labels.index(pos)]))
    if metric == "log_loss":
        order = np.argsort(labels)
        return float(log_loss(ys, proba[:, order], labels=[labels[i] for i in order]))
    if metric == "accuracy":
        return float(np.mean(np.array(labels)[proba.argmax(axis=1)] == ys))
    raise ValueError(f"unknown metric {metric}")

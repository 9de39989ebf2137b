"""Where and how the final model errs, from its out-of-fold predictions.

* classifiers: calibration curve (scikit-learn's ``calibration_curve``, quantile bins) and
  Brier score (``brier_score_loss``) for the positive class of a binary task, or for the
  top-label confidence of a multiclass one (plus the multiclass Brier score); the confusion
  matrix of the most probable class;
* regression: residuals (target - prediction) against the prediction, with their summary;
* every task: **error slices**, the feature-defined subgroups (a category level, a quartile
  of a number, the rows where a value is missing) where the error is highest, with their
  size; classification error is the misclassification rate, regression error the mean
  absolute error. Only slices with at least ``min_size`` rows are ranked.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlresearcher.analysis._common import finite, sample_rows


def calibration(y: np.ndarray, proba: np.ndarray, n_bins: int = 10) -> dict[str, Any]:
    """Calibration curve and Brier score of out-of-fold probabilities ``(n, k)``."""
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import brier_score_loss

    k = proba.shape[1]
    if k == 2:
        target, conf = (y == 1).astype(int), proba[:, 1]
        what = "probability of the positive class"
        brier = float(brier_score_loss(target, conf))
    else:
        pred = np.argmax(proba, axis=1)
        target, conf = (pred == y).astype(int), proba.max(axis=1)
        what = "confidence of the predicted class (top-label calibration)"
        brier = float(brier_score_loss(target, conf))
    frac_pos, mean_pred = calibration_curve(target, conf, n_bins=n_bins, strategy="quantile")
    out = {
        "what": what,
        "n_bins": n_bins,
        "mean_predicted": [float(v) for v in mean_pred],
        "fraction_positive": [float(v) for v in frac_pos],
        "brier": brier,
        "expected_calibration_error": _ece(target, conf, n_bins),
    }
    if k > 2:
        onehot = np.eye(k)[y]
        out["multiclass_brier"] = float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))
    return out


def _edges(conf: np.ndarray, n_bins: int) -> np.ndarray:
    e = np.unique(np.quantile(conf, np.linspace(0, 1, n_bins + 1)))
    return e if len(e) > 1 else np.array([0.0, 1.0])


def _ece(target: np.ndarray, conf: np.ndarray, n_bins: int) -> float:
    """Mean |observed rate - mean confidence| over the same quantile bins, weighted by size."""
    edges = _edges(conf, n_bins)
    idx = np.clip(np.searchsorted(edges[1:-1], conf, side="right"), 0, len(edges) - 2)
    total = 0.0
    for b in np.unique(idx):
        m = idx == b
        total += m.mean() * abs(target[m].mean() - conf[m].mean())
    return float(total)


def confusion(y: np.ndarray, proba: np.ndarray, classes: list[Any]) -> dict[str, Any]:
    from sklearn.metrics import confusion_matrix

    pred = np.argmax(proba, axis=1)
    cm = confusion_matrix(y, pred, labels=np.arange(len(classes)))
    return {
        "labels": [str(c) for c in classes],
        "matrix": cm.tolist(),
        "accuracy": float(np.trace(cm) / max(1, cm.sum())),
    }


def residuals(y: np.ndarray, pred: np.ndarray, seed: int, max_points: int = 2000) -> dict:
    r = y - pred
    pick = sample_rows(len(r), max_points, seed)
    return {
        "n": int(len(r)),
        "mean": float(np.mean(r)),
        "std": float(np.std(r, ddof=1)) if len(r) > 1 else 0.0,
        "mae": float(np.mean(np.abs(r))),
        "rmse": float(np.sqrt(np.mean(r**2))),
        "quantiles": {str(q): float(np.quantile(r, q)) for q in (0.05, 0.25, 0.5, 0.75, 0.95)},
        "predicted": [float(v) for v in pred[pick]],
        "residual": [float(v) for v in r[pick]],
    }


def _slices(col: pd.Series) -> list[tuple[str, np.ndarray]]:
    """(description, mask) of the subgroups one prepared column defines."""
    out = []
    miss = col.isna().to_numpy()
    if miss.any():
        out.append(("is missing", miss))
    if pd.api.types.is_numeric_dtype(col):
        v = col.to_numpy(dtype=float)
        ok = ~miss
        if np.unique(v[ok]).size <= 6:
            for u in np.unique(v[ok]):
                out.append((f"= {u:g}", ok & (v == u)))
            return out
        edges = np.unique(np.quantile(v[ok], [0, 0.25, 0.5, 0.75, 1]))
        for lo, hi in zip(edges[:-1], edges[1:], strict=False):
            last = hi == edges[-1]
            m = ok & (v >= lo) & ((v <= hi) if last else (v < hi))
            out.append((f"in [{lo:.4g}, {hi:.4g}{']' if last else ')'}", m))
        return out
    s = col.astype(object)
    for level in s.dropna().astype(str).value_counts().index[:20]:
        out.append((f"= {level}", (s.astype(str) == level).to_numpy() & ~miss))
    return out


def error_slices(
    Xp: pd.DataFrame,
    y: np.ndarray,
    scores: np.ndarray,
    task: str,
    *,
    min_size: int | None = None,
    top: int = 10,
    max_features: int = 40,
) -> dict[str, Any]:
    """The subgroups with the highest error, with size, error and the overall error."""
    n = len(y)
    if task == "regression":
        err = np.abs(y - scores)
        measure = "mean absolute error"
    else:
        err = (np.argmax(scores, axis=1) != y).astype(float)
        measure = "error rate (share misclassified)"
    overall = float(err.mean())
    min_size = min_size or max(20, int(0.02 * n))
    rows = []
    for f in list(Xp.columns)[:max_features]:
        for desc, m in _slices(Xp[f]):
            size = int(m.sum())
            if size < min_size or size == n:
                continue
            e = float(err[m].mean())
            rows.append(
                {
                    "feature": str(f),
                    "slice": f"{f} {desc}",
                    "size": size,
                    "share": size / n,
                    "error": e,
                    "ratio_to_overall": finite(e / overall) if overall > 0 else None,
                }
            )
    rows.sort(key=lambda r: (-r["error"], -r["size"]))
    return {"measure": measure, "overall": overall, "min_size": min_size, "worst": rows[:top]}

"""Evaluation metrics, in their natural units, with a direction.

Predictions are always *scores*: for classification an ``(n, n_classes)`` array of class
probabilities (columns in the order of the encoded classes), for regression an ``(n,)``
array. Label metrics (accuracy, F1) take the most probable class. ``Metric.loss`` turns any
metric into a lower-is-better number so the search can minimise one thing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm

from mlresearcher.errors import ConfigError

CLASSIFICATION = ("binary", "multiclass")


@dataclass(frozen=True)
class Metric:
    name: str
    greater_is_better: bool
    tasks: tuple[str, ...]
    fn: Callable[[np.ndarray, np.ndarray], float]
    description: str

    def __call__(self, y_true: np.ndarray, y_score: np.ndarray) -> float:
        return float(self.fn(np.asarray(y_true), np.asarray(y_score)))

    def on_fold(self, y_true: np.ndarray, y_score: np.ndarray) -> tuple[float, str | None]:
        """The metric on one validation fold, and ``None``; or NaN and the reason when the
        metric is undefined there (ROC AUC on a fold holding one class, R2 on a constant
        target). Callers report the reason: a mean over fewer folds is never silent."""
        import warnings

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                value = self(y_true, y_score)
            except ValueError as e:
                return float("nan"), f"{self.name} undefined: {str(e).splitlines()[0][:200]}"
        if np.isfinite(value):
            return value, None
        said = [str(w.message).splitlines()[0][:200] for w in caught]
        classes = len(np.unique(np.asarray(y_true)))
        why = said[0] if said else f"the fold holds {classes} distinct target value(s)"
        return float("nan"), f"{self.name} undefined: {why}"

    def loss(self, value: float) -> float:
        """The value oriented so that lower is better."""
        return -value if self.greater_is_better else value

    def better(self, a: float, b: float) -> bool:
        """True when score ``a`` is strictly better than ``b``."""
        return self.loss(a) < self.loss(b)


def _labels(y_score: np.ndarray) -> np.ndarray:
    return np.argmax(y_score, axis=1) if y_score.ndim == 2 else (y_score > 0.5).astype(int)


def _clip_proba(y_score: np.ndarray) -> np.ndarray:
    p = np.clip(y_score, 1e-15, 1.0)
    return p / p.sum(axis=1, keepdims=True)


def _roc_auc(y: np.ndarray, s: np.ndarray) -> float:
    if s.ndim == 2 and s.shape[1] == 2:
        return skm.roc_auc_score(y, s[:, 1])
    return skm.roc_auc_score(y, s, multi_class="ovr", labels=np.arange(s.shape[1]))


def _log_loss(y: np.ndarray, s: np.ndarray) -> float:
    return skm.log_loss(y, _clip_proba(s), labels=np.arange(s.shape[1]))


def _f1(y: np.ndarray, s: np.ndarray) -> float:
    return skm.f1_score(y, _labels(s), average="binary" if s.shape[1] == 2 else "macro")


def _rmse(y: np.ndarray, s: np.ndarray) -> float:
    return float(np.sqrt(skm.mean_squared_error(y, s)))


_C = CLASSIFICATION
_R = ("regression",)

METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric(
            "roc_auc",
            True,
            _C,
            _roc_auc,
            "area under the ROC curve (one-vs-rest macro for multiclass)",
        ),
        Metric("log_loss", False, _C, _log_loss, "cross-entropy of the predicted probabilities"),
        Metric(
            "accuracy",
            True,
            _C,
            lambda y, s: skm.accuracy_score(y, _labels(s)),
            "share of correct labels",
        ),
        Metric(
            "balanced_accuracy",
            True,
            _C,
            lambda y, s: skm.balanced_accuracy_score(y, _labels(s)),
            "mean recall over classes",
        ),
        Metric("f1", True, _C, _f1, "F1 of the positive class (macro F1 for multiclass)"),
        Metric(
            "f1_macro",
            True,
            _C,
            lambda y, s: skm.f1_score(y, _labels(s), average="macro"),
            "unweighted mean F1 over classes",
        ),
        Metric(
            "average_precision",
            True,
            ("binary",),
            lambda y, s: skm.average_precision_score(y, s[:, 1]),
            "area under the precision-recall curve",
        ),
        Metric(
            "brier",
            False,
            ("binary",),
            lambda y, s: skm.brier_score_loss(y, s[:, 1]),
            "mean squared error of the positive-class probability",
        ),
        Metric("rmse", False, _R, _rmse, "root mean squared error"),
        Metric("mse", False, _R, skm.mean_squared_error, "mean squared error"),
        Metric("mae", False, _R, skm.mean_absolute_error, "mean absolute error"),
        Metric("r2", True, _R, skm.r2_score, "coefficient of determination"),
        Metric("medae", False, _R, skm.median_absolute_error, "median absolute error"),
    ]
}

DEFAULT_METRIC = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}


def get_metric(name: str | None, task: str) -> Metric:
    """The metric called ``name`` (or the task's default), checked against the task."""
    if name is None:
        return METRICS[DEFAULT_METRIC[task]]
    key = name.strip().lower().replace("-", "_")
    aliases = {"auc": "roc_auc", "logloss": "log_loss", "acc": "accuracy"}
    key = aliases.get(key, key)
    if key not in METRICS:
        raise ConfigError(f"unknown metric {name!r}; choose one of: {', '.join(sorted(METRICS))}")
    metric = METRICS[key]
    if task not in metric.tasks:
        valid = sorted(m.name for m in METRICS.values() if task in m.tasks)
        raise ConfigError(
            f"metric {metric.name!r} does not apply to a {task} task; use one of: {', '.join(valid)}"
        )
    return metric

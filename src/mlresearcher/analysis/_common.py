"""Helpers the analysis steps share: the time budget, fold predictions, the naive baseline."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mlresearcher.models.base import predict_scores


@dataclass
class Budget:
    """The analysis stage's deadline (a ``time.monotonic()`` value; ``None`` = unbounded).

    Each step asks ``fits(seconds)`` before work it can estimate, and records what it left
    out with ``skip``; the report lists those notes so nothing is silently missing.
    """

    deadline: float | None = None
    skipped: list[str] = field(default_factory=list)

    def left(self) -> float:
        return float("inf") if self.deadline is None else self.deadline - time.monotonic()

    def fits(self, seconds: float) -> bool:
        return self.left() >= seconds

    def skip(self, what: str) -> None:
        self.skipped.append(what)


def first_repeat_folds(protocol: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """The folds of the first repeat: each validated row exactly once."""
    return list(protocol.folds[: protocol.n_splits])


def fold_ensemble_scores(predictor: Any, fold: int, Xp: pd.DataFrame) -> np.ndarray:
    """Scores of the final model's fold-``fold`` models on prepared rows ``Xp``.

    The final model averages each member's fold models; its out-of-fold prediction for a
    row of fold ``i`` uses only the models trained without that fold: the weighted sum of
    the members' fold-``i`` models.
    """
    total = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for m in predictor.members:
            s = predict_scores(m.models[fold], Xp, predictor.task, predictor.n_classes)
            total = m.weight * s if total is None else total + m.weight * s
    assert total is not None
    if predictor.task != "regression":
        total = total / total.sum(axis=1, keepdims=True)
    return total


def prior_scores(y_train: np.ndarray, n: int, task: str, n_classes: int) -> np.ndarray:
    """The naive baseline's scores: training-fold class shares, or the training mean."""
    if task == "regression":
        return np.full(n, float(np.mean(y_train)))
    share = np.bincount(np.asarray(y_train, dtype=int), minlength=n_classes) / len(y_train)
    return np.tile(share, (n, 1))


def baseline_fold_scores(metric: Any, y: np.ndarray, protocol: Any, task: str, n_classes: int):
    """The naive baseline's score on every fold of the protocol (same units as trials)."""
    out = []
    for tr, va in protocol.folds:
        out.append(metric.on_fold(y[va], prior_scores(y[tr], len(va), task, n_classes))[0])
    return out


def oof_scores(rr: Any) -> tuple[np.ndarray, np.ndarray]:
    """The final model's out-of-fold scores (mean over repeats) and the validated-row mask."""
    oof = np.nanmean(rr.oof, axis=0) if rr.oof.shape[0] > 1 else rr.oof[0]
    mask = rr.protocol.validated_mask(len(rr.target.y))
    return oof, mask


def sample_rows(n: int, limit: int, seed: int) -> np.ndarray:
    """At most ``limit`` sorted row indices out of ``n`` (all of them when ``n <= limit``)."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))


def finite(v: Any) -> float | None:
    """A float for JSON, or None when missing or not finite."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None

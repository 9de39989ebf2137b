"""Learning curve: the best pipeline's score against the share of training rows it sees.

For each fraction, every training fold of the first repeat is subsampled (seeded), the
pipeline is refit and scored on the full validation fold. The curve's points are the mean
over folds with the standard error of that mean. Fraction 1.0 is the trial itself: its
fold scores are reused rather than refit.

The verdict compares the last two points: if the full-data score beats the previous point
by more than twice the standard error of the difference, more data would likely help.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from mlresearcher.analysis._common import Budget
from mlresearcher.models.base import predict_scores

FRACTIONS = (0.1, 0.25, 0.5, 0.75)


def learning_curve(
    Xp: pd.DataFrame,
    y: np.ndarray,
    *,
    family: Any,
    params: dict[str, Any],
    ctx: Any,
    folds: list[tuple[np.ndarray, np.ndarray]],
    full_scores: list[float],
    metric: Any,
    seed: int,
    budget: Budget | None = None,
    full_fold_seconds: float = 0.0,
    fractions: tuple[float, ...] = FRACTIONS,
) -> dict[str, Any]:
    """Points ``{fraction, n_train, mean, se, fold_scores}`` and a plain-language verdict."""
    budget = budget or Budget()
    rng = np.random.default_rng(seed)
    points = []
    t0 = time.monotonic()
    for frac in fractions:
        scores = []
        for tr, va in folds:
            if not budget.fits(full_fold_seconds * frac):
                break
            take = np.sort(rng.choice(tr, size=max(2, int(round(frac * len(tr)))), replace=False))
            est = family.build(params, ctx)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.fit(Xp.iloc[take].reset_index(drop=True), y[take])
                s = predict_scores(est, Xp.iloc[va].reset_index(drop=True), ctx.task, ctx.n_classes)
            scores.append(metric.on_fold(y[va], s)[0])
        if len(scores) < len(folds):
            budget.skip(f"learning curve: fraction {frac:g} and above (time)")
            break
        points.append(_point(frac, folds, scores))
    points.append(_point(1.0, folds, list(full_scores[: len(folds)])))
    return {
        "pipeline": {"family": family.name, "params": params},
        "metric": metric.name,
        "greater_is_better": metric.greater_is_better,
        "points": points,
        "verdict": _verdict(points, metric),
        "seconds": round(time.monotonic() - t0, 3),
    }


def _point(frac: float, folds: list, scores: list[float]) -> dict[str, Any]:
    s = np.asarray(scores, dtype=float)
    s = s[np.isfinite(s)]
    n_train = int(round(frac * float(np.mean([len(tr) for tr, _ in folds]))))
    se = float(np.std(s, ddof=1) / math.sqrt(len(s))) if len(s) > 1 else None
    return {
        "fraction": frac,
        "n_train": n_train,
        "mean": float(np.mean(s)) if len(s) else None,
        "se": se,
        "fold_scores": [float(v) for v in scores],
    }


def _verdict(points: list[dict[str, Any]], metric: Any) -> dict[str, Any]:
    if len(points) < 2 or points[-1]["mean"] is None or points[-2]["mean"] is None:
        return {"more_data_helps": None, "text": "too few points to judge the trend"}
    last, prev = points[-1], points[-2]
    gain = -metric.loss(last["mean"]) + metric.loss(prev["mean"])
    se = math.sqrt((last["se"] or 0.0) ** 2 + (prev["se"] or 0.0) ** 2)
    helps = bool(gain > 2 * se and gain > 0)
    if helps:
        text = (
            f"the score still improves from {prev['fraction']:.0%} to 100% of the training rows "
            f"(by {abs(gain):.4g}, more than twice its standard error): more data would likely help"
        )
    else:
        text = (
            f"the score changes little from {prev['fraction']:.0%} to 100% of the training rows "
            f"({gain:+.4g} in the better direction, standard error {se:.2g}): more data of the "
            "same kind is unlikely to help much"
        )
    return {"more_data_helps": helps, "gain": gain, "se": se, "text": text}

"""Greedy ensemble selection over out-of-fold predictions.

Caruana et al. (2004): start from nothing and repeatedly add, with replacement, the
candidate whose inclusion most improves the ensemble's cross-validated score; keep the
best prefix. The weight of a candidate is the share of rounds that picked it. Of the
prefixes within :data:`PARSIMONY` (relative) of the best loss, the one with the fewest
distinct members is kept: a member that buys a hundredth of a percent still costs a model
per prediction. The score
optimised is the same mean-over-folds score the leaderboard reports, computed on each
fold's own validation rows, so ensemble and single models are compared on equal terms.
(The weights are chosen on the same out-of-fold rows they are scored on, which makes the
ensemble's score mildly optimistic; the report says so.)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mlresearcher.metrics import Metric

#: prefixes whose loss is within this fraction of the best count as equal; the one with
#: the fewest members wins (0.05 %, far below the fold-to-fold spread of any score)
PARSIMONY = 5e-4


@dataclass
class EnsembleSelection:
    weights: dict[int, float]  # candidate key -> weight (sums to 1)
    fold_scores: list[float]
    score: float
    rounds: int


def fold_scores(
    metric: Metric,
    y: np.ndarray,
    oof: np.ndarray,
    folds: list[tuple[int, np.ndarray]],
) -> list[float]:
    """Metric per fold. ``oof`` has shape (repeats, n[, k]); ``folds`` is (repeat, val idx)."""
    return [metric.on_fold(y[va], oof[r][va])[0] for r, va in folds]


def _row_losses(metric: Metric, y: np.ndarray, oof: np.ndarray) -> np.ndarray | None:
    """Each row's term of a mean-of-rows metric, ``(repeats, n)``, or ``None`` for others."""
    if metric.name == "log_loss":
        p = np.clip(oof, 1e-15, 1.0)
        p = p / p.sum(axis=-1, keepdims=True)
        return -np.log(np.take_along_axis(p, y[None, :, None].astype(np.intp), axis=-1)[..., 0])
    if metric.name in ("rmse", "mse"):
        return (oof - y[None, :]) ** 2
    if metric.name == "mae":
        return np.abs(oof - y[None, :])
    return None


def _binary_auc(y: np.ndarray, s: np.ndarray) -> float:
    """ROC AUC from ranks (ties share their mean rank): the Mann-Whitney statistic."""
    from scipy.stats import rankdata

    pos = y == 1
    n1 = int(pos.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    return float((rankdata(s)[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def quick_fold_scores(
    metric: Metric, y: np.ndarray, oof: np.ndarray, folds: list[tuple[int, np.ndarray]]
) -> list[float]:
    """:func:`fold_scores` by numpy arithmetic for the metrics the search uses most (log
    loss, RMSE, MSE, MAE, binary ROC AUC): the same values up to rounding, without the
    per-call input checks that made ensemble selection take seconds on 15 folds. Other
    metrics fall back to :func:`fold_scores`."""
    rows = _row_losses(metric, y, oof)
    if rows is not None:
        out = [float(np.mean(rows[r][va])) for r, va in folds]
        return [float(np.sqrt(v)) for v in out] if metric.name == "rmse" else out
    if metric.name == "roc_auc" and oof.ndim == 3 and oof.shape[-1] == 2:
        return [_binary_auc(y[va], oof[r][va][:, 1]) for r, va in folds]
    return fold_scores(metric, y, oof, folds)


def select_ensemble(
    metric: Metric,
    y: np.ndarray,
    candidates: dict[int, np.ndarray],
    folds: list[tuple[int, np.ndarray]],
    rounds: int = 40,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    exact_scores: bool = True,
) -> EnsembleSelection:
    """Choose weights for ``candidates`` (key -> OOF array) by greedy forward selection.

    ``exact_scores=False`` reports the fold scores of the quick arithmetic (equal up to
    rounding) instead of the metric's own: for a caller that reads only the weights."""
    keys = list(candidates)
    if not keys:
        raise ValueError("no candidates to ensemble")
    total = np.zeros_like(candidates[keys[0]], dtype=float)
    picks: list[int] = []
    history: list[tuple[float, list[float], int]] = []
    for rnd in range(rounds):
        if deadline is not None and rnd > 0 and clock() > deadline:
            break
        best_key, best_loss, best_scores = None, np.inf, None
        for key in keys:
            trial = (total + candidates[key]) / (len(picks) + 1)
            scores = quick_fold_scores(metric, y, trial, folds)
            loss = metric.loss(float(np.nanmean(scores)))
            if loss < best_loss - 1e-12:
                best_key, best_loss, best_scores = key, loss, scores
        if best_key is None:
            break
        picks.append(best_key)
        total += candidates[best_key]
        history.append((best_loss, best_scores, len(picks)))
        if len(set(picks)) == 1 and len(keys) == 1:
            break
    best_loss = min(h[0] for h in history)
    close = [h for h in history if h[0] <= best_loss + PARSIMONY * abs(best_loss)]
    _, _, n_picks = min(close, key=lambda h: (len(set(picks[: h[2]])), h[0], h[2]))
    chosen = picks[:n_picks]
    weights = {k: chosen.count(k) / n_picks for k in dict.fromkeys(chosen)}
    # the reported scores come from the metric itself, not the quick arithmetic
    score = fold_scores if exact_scores else quick_fold_scores
    best_scores = score(metric, y, sum(candidates[k] for k in chosen) / n_picks, folds)
    return EnsembleSelection(weights, best_scores, float(np.nanmean(best_scores)), n_picks)

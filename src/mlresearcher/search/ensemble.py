"""Greedy ensemble selection over out-of-fold predictions.

Caruana et al. (2004): start from nothing and repeatedly add, with replacement, the
candidate whose inclusion most improves the ensemble's cross-validated score; keep the
best prefix. The weight of a candidate is the share of rounds that picked it. The score
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
    out = []
    for r, va in folds:
        try:
            out.append(metric(y[va], oof[r][va]))
        except ValueError:
            out.append(float("nan"))
    return out


def select_ensemble(
    metric: Metric,
    y: np.ndarray,
    candidates: dict[int, np.ndarray],
    folds: list[tuple[int, np.ndarray]],
    rounds: int = 40,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> EnsembleSelection:
    """Choose weights for ``candidates`` (key -> OOF array) by greedy forward selection."""
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
            scores = fold_scores(metric, y, trial, folds)
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
    best_loss, best_scores, n_picks = min(history, key=lambda h: (h[0], h[2]))
    chosen = picks[:n_picks]
    weights = {k: chosen.count(k) / n_picks for k in dict.fromkeys(chosen)}
    return EnsembleSelection(weights, best_scores, float(np.nanmean(best_scores)), n_picks)

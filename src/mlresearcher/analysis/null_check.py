"""The null check: can the best pipeline score above chance when the target is noise?

The best single pipeline (its family and parameters) is re-run on the same folds with a
permuted target. Under an honest protocol it cannot beat the naive baseline (the training
fold's class shares, or its mean) on noise. If it does, something carries the target across
the train/validation boundary: typically duplicated records that straddle folds, or a
step that sees validation rows.

Duplicated records are one observation recorded several times, so the permutation keeps
them together: rows identical in every prepared feature and the target get the same
permuted label. That is what makes a duplication leak visible (an honest permutation of
each copy separately would hide it).

Test: ``d_j = loss(baseline_j) - loss(model_j)`` on each fold, one-sided Nadeau–Bengio
corrected t-test of ``mean(d) > 0``. The alarm is raised when ``p < ALARM_P``.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from mlresearcher.analysis._common import Budget, prior_scores
from mlresearcher.analysis.stats import corrected_ttest, n_test_over_n_train
from mlresearcher.models.base import predict_scores

#: p-value below which the null check raises the leakage alarm
ALARM_P = 0.01


def record_permutation(Xp: pd.DataFrame, y: np.ndarray, seed: int) -> np.ndarray:
    """``y`` permuted across records; identical rows (features and target) move together."""
    keys = pd.util.hash_pandas_object(Xp.astype(str), index=False).to_numpy()
    frame = pd.DataFrame({"x": keys, "y": np.asarray(y)})
    groups, _ = pd.factorize(pd.MultiIndex.from_frame(frame))
    n_groups = int(groups.max()) + 1
    first = np.zeros(n_groups, dtype=int)
    first[groups[::-1]] = np.arange(len(groups))[::-1]  # first row of each record
    labels = np.asarray(y)[first]
    shuffled = labels[np.random.default_rng(seed).permutation(n_groups)]
    return shuffled[groups]


def null_check(
    Xp: pd.DataFrame,
    y: np.ndarray,
    *,
    family: Any,
    params: dict[str, Any],
    ctx: Any,
    folds: list[tuple[np.ndarray, np.ndarray]],
    metric: Any,
    seed: int,
    budget: Budget | None = None,
    expected_fold_seconds: float = 0.0,
) -> dict[str, Any]:
    """Re-run ``family`` with ``params`` on ``folds`` with a permuted target.

    Returns the per-fold scores of the model and of the naive baseline, the test and
    ``alarm`` (True: the pipeline beats chance on noise, a leak). Folds that do not fit
    in ``budget`` are left out; with fewer than two folds done there is no test.
    """
    budget = budget or Budget()
    y_perm = record_permutation(Xp, y, seed)
    model_scores, base_scores = [], []
    done: list[tuple[np.ndarray, np.ndarray]] = []
    unscored: list[str] = []  # folds the metric is undefined on (said in the result)
    t0 = time.monotonic()
    for tr, va in folds:
        if not budget.fits(expected_fold_seconds):
            budget.skip(f"null check: {len(folds) - len(done)} of {len(folds)} folds (time)")
            break
        est = family.build(params, ctx)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(Xp.iloc[tr].reset_index(drop=True), y_perm[tr])
            s = predict_scores(est, Xp.iloc[va].reset_index(drop=True), ctx.task, ctx.n_classes)
        b = prior_scores(y_perm[tr], len(va), ctx.task, ctx.n_classes)
        m, why = metric.on_fold(y_perm[va], s)
        base, why_b = metric.on_fold(y_perm[va], b)
        if why is not None or why_b is not None:
            unscored.append(why or why_b)
            continue
        model_scores.append(m)
        base_scores.append(base)
        done.append((tr, va))
    # oriented so that positive means "the model beats the baseline"
    m_or = [-metric.loss(v) for v in model_scores]
    b_or = [-metric.loss(v) for v in base_scores]
    test = corrected_ttest(m_or, b_or, n_test_over_n_train(done or folds), "greater")
    p = test["p"]
    alarm = bool(np.isfinite(p) and p < ALARM_P and test["mean_diff"] > 0)
    return {
        "pipeline": {"family": family.name, "params": params},
        "permutation": "records (rows identical in features and target) permuted together",
        "model_fold_scores": model_scores,
        "unscored_folds": unscored,
        "baseline_fold_scores": base_scores,
        "model_score": float(np.mean(model_scores)) if model_scores else None,
        "baseline_score": float(np.mean(base_scores)) if base_scores else None,
        "test": {
            "name": "one-sided Nadeau-Bengio corrected resampled t-test, model vs baseline",
            "alpha": ALARM_P,
            **test,
        },
        "alarm": alarm,
        "seconds": round(time.monotonic() - t0, 3),
    }

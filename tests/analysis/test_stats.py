"""The corrected resampled t-test and intervals, as published, and the leaderboard columns."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest
from conftest import load_dataset
from scipy import stats

from mlresearcher.analysis.stats import (
    add_comparison,
    corrected_interval,
    corrected_ttest,
    n_test_over_n_train,
)
from mlresearcher.engine import RunConfig, run, split_target

A = [0.812, 0.797, 0.831, 0.805, 0.822, 0.809, 0.816, 0.801, 0.826, 0.811]
B = [0.801, 0.795, 0.818, 0.806, 0.810, 0.799, 0.812, 0.790, 0.817, 0.808]


def test_corrected_ttest_matches_the_published_formula():
    # 10-fold CV: n_test/n_train = (n/10)/(9n/10) = 1/9 (Nadeau & Bengio 2003, eq. for J splits)
    ratio = 1 / 9
    d = [a - b for a, b in zip(A, B, strict=True)]
    J = len(d)
    mean = sum(d) / J
    var = statistics.variance(d)  # sample variance, ddof=1
    t_hand = mean / math.sqrt((1 / J + ratio) * var)
    p_hand = 2 * stats.t.sf(abs(t_hand), J - 1)
    r = corrected_ttest(A, B, ratio)
    assert r["t"] == pytest.approx(t_hand, rel=1e-12)
    assert r["p"] == pytest.approx(p_hand, rel=1e-12)
    assert r["df"] == J - 1 and r["mean_diff"] == pytest.approx(mean)
    # without the correction term it is the ordinary paired t-test
    plain = corrected_ttest(A, B, 0.0)
    ref = stats.ttest_rel(A, B)
    assert plain["t"] == pytest.approx(ref.statistic, rel=1e-10)
    assert plain["p"] == pytest.approx(ref.pvalue, rel=1e-10)
    # and the correction makes the test more conservative
    assert r["p"] > plain["p"]
    # one-sided: half the two-sided p when the difference is positive
    assert corrected_ttest(A, B, ratio, "greater")["p"] == pytest.approx(p_hand / 2)


def test_corrected_interval_and_degenerate_cases():
    ratio = 0.25
    lo, hi = corrected_interval(A, ratio)
    se = math.sqrt((1 / len(A) + ratio) * statistics.variance(A))
    half = stats.t.ppf(0.975, len(A) - 1) * se
    assert lo == pytest.approx(np.mean(A) - half) and hi == pytest.approx(np.mean(A) + half)
    assert corrected_ttest(A, A, ratio)["p"] == 1.0  # identical scores: no evidence
    assert math.isnan(corrected_ttest([0.8], [0.7], ratio)["p"])  # one fold: no test
    nan_pair = corrected_ttest([0.8, float("nan"), 0.9], [0.7, 0.6, 0.8], ratio)
    assert nan_pair["n_folds"] == 2  # pairs with a missing fold score are dropped


def test_ratio_from_folds():
    folds = [(np.arange(80), np.arange(80, 100))] * 5
    assert n_test_over_n_train(folds) == pytest.approx(0.25)


def test_leaderboard_marks_candidates_tied_with_the_best():
    df, _ = load_dataset("credit_scoring", 500)
    X, y = split_target(df, "Status")
    cfg = RunConfig(time_limit=None, max_trials=2, families=["linear", "knn"], folds=5, repeats=1)
    rr = run(X, y, cfg)
    lb = rr.leaderboard
    for col in ("ci_low", "ci_high", "p_vs_best", "tied_with_best"):
        assert col in lb.columns
    best = lb.iloc[0]
    assert bool(best["tied_with_best"]) and pd.isna(best["p_vs_best"])
    ratio = n_test_over_n_train(rr.protocol.folds)
    scores = {t.name: t.fold_scores for t in rr.campaign.trials}
    best_scores = (
        rr.campaign.ensemble.fold_scores if best["model"] == "ensemble" else scores[best["model"]]
    )
    for _, row in lb.iloc[1:].iterrows():
        if row["status"] != "complete":
            continue
        p = corrected_ttest(scores[row["model"]], best_scores, ratio)["p"]
        assert row["p_vs_best"] == pytest.approx(p)
        assert bool(row["tied_with_best"]) == (p >= 0.05)
        assert row["ci_low"] <= row["score"] <= row["ci_high"]


def test_add_comparison_separates_a_clearly_worse_candidate():
    folds = [(np.arange(80), np.arange(80, 100))] * 5
    best = [0.90, 0.88, 0.91, 0.89, 0.90]
    lb = pd.DataFrame(
        {
            "model": ["best", "close", "worse"],
            "status": ["complete"] * 3,
            "score": [np.mean(best), 0.8955, 0.80],
        }
    )
    scores = {
        "best": best,
        "close": [0.895, 0.885, 0.905, 0.885, 0.905],
        "worse": [0.80, 0.79, 0.81, 0.80, 0.80],
    }
    out = add_comparison(lb, scores, folds).set_index("model")
    assert out.loc["close", "tied_with_best"] and out.loc["close", "p_vs_best"] > 0.05
    assert not out.loc["worse", "tied_with_best"] and out.loc["worse", "p_vs_best"] < 0.001


def test_add_comparison_without_a_test_on_a_single_holdout():
    lb = pd.DataFrame(
        {"model": ["a", "b"], "status": ["complete", "complete"], "score": [0.9, 0.8]}
    )
    folds = [(np.arange(80), np.arange(80, 100))]
    out = add_comparison(lb, {"a": [0.9], "b": [0.8]}, folds)
    assert out["tied_with_best"].isna().all() and out["p_vs_best"].isna().all()

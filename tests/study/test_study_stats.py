"""Study statistics against the libraries' own output, and the table conventions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scikit_posthocs as sp
from scipy import stats as sst

from mlresearcher.study import stats, tables


def _cells(scores: dict[str, dict[str, list[float]]], metric="roc_auc", gib=True) -> list[dict]:
    rows = []
    for ds, by_method in scores.items():
        for m, vals in by_method.items():
            for seed, v in enumerate(vals):
                rows.append(
                    {
                        "method": m,
                        "dataset": ds,
                        "seed": seed,
                        "metric": metric,
                        "greater_is_better": gib,
                        "score": v,
                        "fit_time": 0.1,
                        "status": "complete",
                    }
                )
    return rows


def _random_scores(n_datasets=8, methods=("a", "b", "c", "d"), seeds=3, seed=0):
    rng = np.random.default_rng(seed)
    skill = {"a": 0.80, "b": 0.78, "c": 0.74, "d": 0.79}
    return {
        f"ds{i}": {
            m: list(skill[m] + 0.05 * rng.standard_normal() + 0.01 * rng.standard_normal(seeds))
            for m in methods
        }
        for i in range(n_datasets)
    }


def test_friedman_and_posthoc_match_the_libraries():
    methods = ["a", "b", "c", "d"]
    df = stats.results_frame(_cells(_random_scores()))
    cmp = stats.compare(df, methods)
    means = df.pivot_table(index="dataset", columns="method", values="score").reindex(
        columns=methods
    )
    direct = sst.friedmanchisquare(*[means[m].to_numpy() for m in methods])
    assert cmp.friedman_stat == pytest.approx(direct.statistic, rel=1e-12)
    assert cmp.friedman_p == pytest.approx(direct.pvalue, rel=1e-12)
    nem = sp.posthoc_nemenyi_friedman(means.to_numpy())
    np.testing.assert_allclose(cmp.nemenyi.to_numpy(), np.asarray(nem), rtol=1e-12)
    con = sp.posthoc_conover_friedman(means.to_numpy(), p_adjust="holm")
    np.testing.assert_allclose(cmp.conover.to_numpy(), np.asarray(con), rtol=1e-12)
    # average ranks: rank 1 = highest AUC on each dataset
    ranks = means.rank(axis=1, ascending=False).mean()
    for m in methods:
        assert cmp.ranks[m] == pytest.approx(ranks[m])


def test_lower_is_better_metrics_rank_the_smallest_first():
    s = {
        f"ds{i}": {"good": [0.1 + i, 0.1 + i], "bad": [0.5 + i, 0.6 + i], "mid": [0.3 + i] * 2}
        for i in range(3)
    }
    df = stats.results_frame(_cells(s, metric="rmse", gib=False))
    cmp = stats.compare(df, ["good", "mid", "bad"])
    assert list(cmp.ranks.index) == ["good", "mid", "bad"]
    assert cmp.ranks["good"] == 1.0


def test_nemenyi_critical_difference_matches_demsar_table():
    # Demšar (2006), Table 5(a): q_0.05 = 2.343 (k=3), 2.569 (k=4), 2.728 (k=5)
    for k, q in ((3, 2.343), (4, 2.569), (5, 2.728)):
        assert stats.nemenyi_cd(k, 10) == pytest.approx(q * np.sqrt(k * (k + 1) / 60), rel=2e-3)


def test_significance_markers_and_win_tie_loss():
    s = {
        # clear: a beats b on every seed by a wide, consistent margin
        "clear": {"a": [0.90, 0.91, 0.92], "b": [0.70, 0.705, 0.71], "c": [0.89, 0.93, 0.90]},
        # noisy: a and b swap places across seeds
        "noisy": {"a": [0.80, 0.70, 0.75], "b": [0.74, 0.78, 0.72], "c": [0.60, 0.61, 0.62]},
    }
    df = stats.results_frame(_cells(s))
    per = stats.per_dataset(df, ["a", "b", "c"])
    row = per.set_index(["dataset", "method"])
    assert row.loc[("clear", "a"), "best"]
    assert not row.loc[("clear", "b"), "not_sig"]  # significantly worse than the best
    assert row.loc[("clear", "c"), "not_sig"]  # within noise of the best
    p = sst.ttest_rel([0.90, 0.91, 0.92], [0.70, 0.705, 0.71]).pvalue
    assert row.loc[("clear", "b"), "p_vs_best"] == pytest.approx(p)
    wtl = stats.win_tie_loss(per, df, ["a", "b", "c"])
    assert wtl.loc["a", "b"] == "1/1/0"  # win on clear, tie on noisy
    assert wtl.loc["b", "a"] == "0/1/1"
    md = tables.to_markdown("roc_auc", tables.metric_tables(per, ["a", "b", "c"])["roc_auc"])
    clear_line = next(line for line in md.splitlines() if line.startswith("| clear"))
    assert "**0.9100 ± 0.0100**" in clear_line and "†" in clear_line.split("|")[4]
    assert "†" not in clear_line.split("|")[3]
    tex = tables.to_latex("roc_auc", tables.metric_tables(per, ["a", "b", "c"])["roc_auc"])
    assert "\\textbf{0.9100 $\\pm$ 0.0100}" in tex and "$^\\dagger$" in tex


def test_too_few_datasets_is_reported_not_tested():
    df = stats.results_frame(_cells({"only": {"a": [1.0], "b": [2.0], "c": [3.0]}}))
    cmp = stats.compare(df, ["a", "b", "c"])
    assert cmp.friedman_p is None and cmp.notes


def test_results_frame_ignores_failed_cells():
    cells = _cells({"d": {"a": [0.5]}}) + [
        {
            "method": "b",
            "dataset": "d",
            "seed": 0,
            "status": "failed",
            "metric": None,
            "greater_is_better": None,
            "score": None,
            "fit_time": 0.0,
        }
    ]
    assert list(stats.results_frame(cells)["method"]) == ["a"]
    assert isinstance(stats.results_frame(cells), pd.DataFrame)

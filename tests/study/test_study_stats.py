"""Study statistics against the libraries' own output (SciPy, and scikit-posthocs from the dev
extra for our post-hoc tests), the critical-difference diagram, and the table conventions."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import scikit_posthocs as sp
from scipy import stats as sst

from mlresearcher.study import report, stats, tables


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
    # scikit-posthocs ranks the utilities, compare() the losses: the tests are symmetric
    nem = sp.posthoc_nemenyi_friedman(means.to_numpy())
    np.testing.assert_allclose(cmp.nemenyi.to_numpy(), np.asarray(nem), rtol=0, atol=1e-9)
    con = sp.posthoc_conover_friedman(means.to_numpy(), p_adjust="holm")
    np.testing.assert_allclose(cmp.conover.to_numpy(), np.asarray(con), rtol=0, atol=1e-9)
    # average ranks: rank 1 = highest AUC on each dataset
    ranks = means.rank(axis=1, ascending=False).mean()
    for m in methods:
        assert cmp.ranks[m] == pytest.approx(ranks[m])


@pytest.mark.parametrize("ties", [False, True])
def test_posthoc_tests_equal_scikit_posthocs_over_many_designs(ties):
    # Both Nemenyi (studentised range, df = inf: SciPy's asymptotic integral, as
    # scikit-posthocs calls it) and Conover (Student's t) should agree to rounding.
    rng = np.random.default_rng(7 + ties)
    for _ in range(25):
        n, k = int(rng.integers(2, 25)), int(rng.integers(3, 8))
        x = rng.standard_normal((n, k)) + rng.uniform(0, 1) * np.arange(k)
        if ties:
            x = np.round(x)
        np.testing.assert_allclose(
            stats.nemenyi_friedman(x), np.asarray(sp.posthoc_nemenyi_friedman(x)), atol=1e-9
        )
        for adjust in ("holm", None):
            ours = stats.conover_friedman(x, p_adjust=adjust)
            with np.errstate(all="ignore"):
                theirs = np.asarray(sp.posthoc_conover_friedman(x, p_adjust=adjust))
            known = ~np.isnan(theirs)  # theirs is NaN for equal rank sums in degenerate data
            np.testing.assert_allclose(ours[known], theirs[known], atol=1e-9)


def test_holm_adjusts_step_down_by_hand():
    # sorted 0.01 < 0.02 < 0.03 < 0.04 (m = 4): x4, x3, x2, x1 = 0.04, 0.06, 0.06, 0.04,
    # then never below the previous one: 0.04, 0.06, 0.06, 0.06; given in shuffled order
    p = np.array([0.03, 0.01, 0.04, 0.02])
    np.testing.assert_allclose(stats.holm(p), [0.06, 0.04, 0.06, 0.06])
    # capped at 1: 0.01 x 3 = 0.03, 0.6 x 2 = 1.2 -> 1, 0.7 x 1 -> max(1.2, 0.7) -> 1
    np.testing.assert_allclose(stats.holm([0.6, 0.7, 0.01]), [1.0, 1.0, 0.03])
    # tied p-values share their adjusted value: 0.02 x 3 = 0.06, 0.02 x 2 -> 0.06
    np.testing.assert_allclose(stats.holm([0.02, 0.5, 0.02]), [0.06, 0.5, 0.06])
    np.testing.assert_allclose(stats.holm([0.001]), [0.001])
    # and statsmodels' multipletests (installed with scikit-posthocs) agrees
    from statsmodels.stats.multitest import multipletests

    q = np.random.default_rng(0).uniform(0, 0.2, 15)
    np.testing.assert_allclose(stats.holm(q), multipletests(q, method="holm")[1], atol=1e-12)


def test_conover_holm_is_holm_over_the_raw_pairs():
    x = np.random.default_rng(3).standard_normal((9, 4)) + np.arange(4) * 0.5
    raw, adjusted = stats.conover_friedman(x, p_adjust=None), stats.conover_friedman(x)
    i, j = np.triu_indices(4, 1)
    np.testing.assert_allclose(adjusted[i, j], stats.holm(raw[i, j]))
    np.testing.assert_allclose(adjusted, adjusted.T)
    assert (np.diag(adjusted) == 1).all()


def _comparison_with_two_groups() -> stats.Comparison:
    """a, b together at the top; c, d together at the bottom; the two groups apart."""
    methods = ["a", "b", "c", "d"]
    ranks = pd.Series({"a": 1.2, "b": 1.8, "c": 3.1, "d": 3.9})
    p = pd.DataFrame(0.001, index=methods, columns=methods)
    for x, y in (("a", "b"), ("c", "d")):
        p.loc[x, y] = p.loc[y, x] = 0.4
    for m in methods:
        p.loc[m, m] = 1.0
    return stats.Comparison(methods, 12, ranks, nemenyi=p, cd=1.35)


def test_indistinguishable_groups_are_maximal_runs_in_rank_order():
    cmp = _comparison_with_two_groups()
    assert stats.indistinguishable_groups(cmp.ranks, cmp.nemenyi) == [["a", "b"], ["c", "d"]]
    # b also indistinguishable from c, but a from c is significant: a-b, b-c and c-d
    p = cmp.nemenyi.copy()
    p.loc["b", "c"] = p.loc["c", "b"] = 0.2
    assert stats.indistinguishable_groups(cmp.ranks, p) == [["a", "b"], ["b", "c"], ["c", "d"]]
    p.loc["b", "d"] = p.loc["d", "b"] = 0.2
    assert stats.indistinguishable_groups(cmp.ranks, p) == [["a", "b"], ["b", "c", "d"]]
    everyone = pd.DataFrame(1.0, index=cmp.methods, columns=cmp.methods)
    assert stats.indistinguishable_groups(cmp.ranks, everyone) == [["a", "b", "c", "d"]]


def _x_span(svg: str, gid: str) -> tuple[float, float]:
    group = re.search(rf'<g id="{gid}">(.*?)</g>', svg, re.S).group(1)
    xs = [float(v) for v in re.findall(r"[ML] ([-\d.]+) [-\d.]+", group)]
    return min(xs), max(xs)


def test_cd_diagram_labels_every_method_once_and_bars_the_known_groups():
    cmp = _comparison_with_two_groups()
    svg = report.cd_diagram_svg(cmp)
    assert svg == report.cd_diagram_svg(cmp)  # deterministic
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    for m, r in cmp.ranks.items():
        assert sum(re.search(rf"(^|\s){m}(\s|$)", t) is not None for t in texts) == 1
        assert sum(f"{r:.2f}" in t for t in texts) == 1
    assert any("CD = 1.35" in t for t in texts)
    assert any(t.startswith("average ranks over 12 datasets") for t in texts)
    # two bars, one per group, spanning the group's ranks (a tick per rank maps ranks to x)
    assert len(re.findall(r'<g id="cd-group-\d+">', svg)) == 2
    x1, x4 = _x_span(svg, "cd-tick-1")[0], _x_span(svg, "cd-tick-4")[0]

    def x(rank):
        return x1 + (rank - 1) * (x4 - x1) / 3

    for g, (lo, hi) in enumerate(((1.2, 1.8), (3.1, 3.9))):
        left, right = _x_span(svg, f"cd-group-{g}")
        assert x(lo) - 5 < left <= x(lo) and x(hi) <= right < x(hi) + 5
    cd_left, cd_right = _x_span(svg, "cd-cd")
    assert cd_left == pytest.approx(x1) and cd_right == pytest.approx(x(1 + 1.35))


def test_cd_diagram_needs_a_posthoc_test():
    cmp = _comparison_with_two_groups()
    cmp.nemenyi = None
    assert report.cd_diagram_svg(cmp) is None


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

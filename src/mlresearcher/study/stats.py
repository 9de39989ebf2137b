"""Statistics across a study's cells.

Within a dataset (over seeds):

* mean ± standard deviation of each method's score;
* a paired t-test (paired by seed: same split) of each method against the dataset's best
  method; a difference with ``p >= alpha`` is *not significant*. With 3 seeds this test
  has little power, so "not significant" is common and says so honestly.

Across datasets (Demšar, 2006):

* average ranks (1 = best, ties share the mean rank);
* the Friedman test (:func:`scipy.stats.friedmanchisquare`) on the per-dataset mean
  scores, datasets as blocks;
* post-hoc tests on the same within-dataset ranks, written here with SciPy's
  distributions: Nemenyi (:func:`nemenyi_friedman`, Demšar 2006) and Conover with Holm's
  step-down adjustment (:func:`conover_friedman`, Conover 1999; :func:`holm`), whose
  p-values equal scikit-posthocs' ``posthoc_nemenyi_friedman`` and
  ``posthoc_conover_friedman(p_adjust="holm")`` (the tests compare them), and the Nemenyi
  critical difference ``q_alpha * sqrt(k (k + 1) / (6 N))`` with ``q_alpha`` from the
  studentised range distribution;
* groups of methods the Nemenyi test cannot tell apart (:func:`indistinguishable_groups`),
  the bars of the critical-difference diagram;
* win/tie/loss counts between every pair of methods: a win is a better mean score on a
  dataset with a significant paired difference, a tie is a non-significant difference.

Scores are oriented by each dataset's metric: lower-is-better metrics are negated before
ranking, so rank 1 is always the best method.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats


def results_frame(cells: list[dict[str, Any]]) -> pd.DataFrame:
    """Complete cells as a frame: method, dataset, seed, metric, greater_is_better, score."""
    cols = ["method", "dataset", "seed", "metric", "greater_is_better", "score", "fit_time"]
    rows = [{k: c[k] for k in cols} for c in cells if c["status"] == "complete"]
    return pd.DataFrame(rows, columns=cols)


def _utility(df: pd.DataFrame) -> pd.Series:
    """Higher-is-better version of each score."""
    return df["score"].where(df["greater_is_better"].astype(bool), -df["score"])


def per_dataset(df: pd.DataFrame, methods: list[str], alpha: float = 0.05) -> pd.DataFrame:
    """One row per (dataset, method): metric, mean, std and n over seeds, whether it is the
    dataset's best, the paired p-value against the best and the not-significant flag."""
    df = df.assign(utility=_utility(df))
    rows = []
    for ds, d in df.groupby("dataset", sort=True):
        metric = d["metric"].iloc[0]
        agg = d.groupby("method")["utility"].mean()
        best = agg.idxmax()
        best_by_seed = d[d["method"] == best].set_index("seed")["utility"]
        for m in methods:
            dm = d[d["method"] == m]
            if dm.empty:
                continue
            p = float("nan")
            if m != best:
                u = dm.set_index("seed")["utility"]
                common = u.index.intersection(best_by_seed.index)
                if len(common) >= 2:
                    diff = best_by_seed[common] - u[common]
                    if np.allclose(diff, diff.iloc[0]) and abs(diff.iloc[0]) > 0:
                        p = 0.0  # identical non-zero gap on every seed: no doubt left
                    elif not np.allclose(diff, 0):
                        p = float(stats.ttest_rel(best_by_seed[common], u[common]).pvalue)
                    else:
                        p = 1.0
            rows.append(
                {
                    "dataset": ds,
                    "metric": metric,
                    "greater_is_better": bool(dm["greater_is_better"].iloc[0]),
                    "method": m,
                    "mean": float(dm["score"].mean()),
                    "std": float(dm["score"].std(ddof=1)) if len(dm) > 1 else float("nan"),
                    "n": len(dm),
                    "best": m == best,
                    "p_vs_best": p,
                    "not_sig": m != best and not (p < alpha),
                }
            )
    return pd.DataFrame(rows)


def utility_matrix(df: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    """Datasets x methods of mean higher-is-better scores; datasets missing a method dropped."""
    u = df.assign(utility=_utility(df)).pivot_table(
        index="dataset", columns="method", values="utility", aggfunc="mean"
    )
    return u.reindex(columns=methods).dropna(axis=0, how="any")


def average_ranks(u: pd.DataFrame) -> pd.Series:
    """Mean rank of each method over datasets (1 = best), from a utility matrix."""
    return u.rank(axis=1, ascending=False, method="average").mean(axis=0).sort_values()


def friedman_ranks(loss: np.ndarray) -> np.ndarray:
    """Ranks within each block (row) of a blocks x methods matrix, 1 = smallest value, ties
    sharing their mean rank: the ranks that the Friedman test and its post-hoc tests use."""
    return stats.rankdata(np.asarray(loss, dtype=float), axis=1, method="average")


def _pairs(k: int) -> tuple[np.ndarray, np.ndarray]:
    return np.triu_indices(k, 1)


def _symmetric(k: int, upper: np.ndarray) -> np.ndarray:
    """A k x k matrix with ``upper`` above the diagonal, mirrored below it, 1 on it."""
    out = np.ones((k, k))
    i, j = _pairs(k)
    out[i, j] = upper
    out[j, i] = upper
    return out


def nemenyi_friedman(loss: np.ndarray) -> np.ndarray:
    """Nemenyi post-hoc p-values after the Friedman test, for every pair of methods.

    ``loss`` is a blocks (datasets) x methods matrix; the result is methods x methods, with 1
    on the diagonal. Following Demšar (2006, section 3.2.2), two methods' average ranks
    ``R_i``, ``R_j`` over ``N`` blocks differ by ``z = |R_i - R_j| / sqrt(k (k + 1) / (6 N))``
    standard errors, and the Nemenyi test refers ``sqrt(2) z`` to the studentised range
    distribution of ``k`` means with infinite degrees of freedom (Demšar's critical values
    ``q_alpha`` are that distribution's quantiles divided by ``sqrt(2)``). SciPy evaluates it
    for ``df = inf`` with its one-dimensional asymptotic integral (Lund & Lund, 1983), to an
    absolute accuracy of about 1e-11: the same call scikit-posthocs makes, so p-values equal
    its ``posthoc_nemenyi_friedman`` (the tests check 1e-9). The test is symmetric in the
    ranking's direction, so ranking losses or utilities gives the same p-values.
    """
    ranks = friedman_ranks(loss)
    n, k = ranks.shape
    mean_ranks = ranks.mean(axis=0)
    i, j = _pairs(k)
    z = np.abs(mean_ranks[i] - mean_ranks[j]) / np.sqrt(k * (k + 1.0) / (6.0 * n))
    return _symmetric(k, stats.studentized_range.sf(np.sqrt(2.0) * z, k, np.inf))


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's (1979) step-down adjustment of ``m`` p-values, in their input order.

    Sorted ascending, the ``r``-th smallest (``r = 1..m``) becomes
    ``max over s <= r of (m - s + 1) p_(s)``, capped at 1: the smallest p-value is multiplied
    by ``m``, the next by ``m - 1``, and so on, and an adjusted p-value never falls below the
    one before it. Rejecting where the adjusted p-value is below ``alpha`` controls the
    family-wise error rate at ``alpha``. Tied p-values get the same adjusted value.
    """
    p = np.asarray(p, dtype=float)
    m = p.size
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate(p[order] * np.arange(m, 0, -1))
    out = np.empty(m)
    out[order] = np.minimum(stepped, 1.0)
    return out


def conover_friedman(loss: np.ndarray, p_adjust: str | None = "holm") -> np.ndarray:
    """Conover's post-hoc p-values after the Friedman test, for every pair of methods.

    ``loss`` is a blocks (datasets) x methods matrix; the result is methods x methods, with 1
    on the diagonal. Conover (1999, *Practical Nonparametric Statistics*, 3rd ed., section
    5.8, Friedman test multiple comparisons; Conover & Iman, 1979): with ``b`` blocks, ``k``
    methods, within-block ranks ``R_ij``, rank sums ``R_j``, ``A1 = sum R_ij^2``,
    ``C1 = b k (k + 1)^2 / 4`` and the Friedman statistic
    ``T1 = (k - 1) sum_j (R_j - b (k + 1) / 2)^2 / (A1 - C1)``, methods ``i`` and ``j``
    differ by

        t = |R_i - R_j| / sqrt(2 b (A1 - C1) / ((b - 1)(k - 1)) * (1 - T1 / (b (k - 1))))

    referred two-sided to Student's t with ``(b - 1)(k - 1)`` degrees of freedom. These are
    the formulas of scikit-posthocs' ``posthoc_conover_friedman``, whose p-values ours equal
    (the tests check 1e-9). ``p_adjust="holm"`` applies :func:`holm` over the
    ``k (k - 1) / 2`` pairs; ``None`` leaves them unadjusted.

    Degenerate data, where the t statistic's denominator is 0 (every block ranks the methods
    identically, or every block ties them all), give p = 1 to pairs with equal rank sums and
    p = 0 to the others, where scikit-posthocs would return NaN for the former.
    """
    if p_adjust not in ("holm", None):
        raise ValueError(f"p_adjust must be 'holm' or None, not {p_adjust!r}")
    ranks = friedman_ranks(loss)
    b, k = ranks.shape
    if b < 2 or k < 2:
        raise ValueError(f"Conover's test needs 2 or more blocks and methods, got {b} x {k}")
    rank_sums = ranks.sum(axis=0)
    a1_minus_c1 = float(np.sum(ranks**2) - b * k * (k + 1.0) ** 2 / 4.0)
    df = (b - 1.0) * (k - 1.0)
    t1 = (
        (k - 1.0) * np.sum((rank_sums - b * (k + 1.0) / 2.0) ** 2) / a1_minus_c1
        if a1_minus_c1 > 0
        else 0.0
    )
    # 1 - T1 / (b (k - 1)) is >= 0 in exact arithmetic; rounding may take it a hair below
    variance = 2.0 * b * a1_minus_c1 / df * max(1.0 - t1 / (b * (k - 1.0)), 0.0)
    i, j = _pairs(k)
    diff = np.abs(rank_sums[i] - rank_sums[j])
    if variance > 0:
        p = 2.0 * stats.t.sf(diff / np.sqrt(variance), df)
    else:
        p = np.where(diff > 0, 0.0, 1.0)
    if p_adjust == "holm":
        p = holm(p)
    return _symmetric(k, p)


def nemenyi_cd(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of average ranks for ``k`` methods on ``n`` datasets."""
    q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2)
    return float(q * np.sqrt(k * (k + 1) / (6.0 * n)))


def indistinguishable_groups(
    ranks: pd.Series, p_values: pd.DataFrame, alpha: float = 0.05
) -> list[list[str]]:
    """Groups of methods that a post-hoc test cannot tell apart: the thick bars of Demšar's
    (2006) critical-difference diagram.

    ``ranks`` maps each method to its average rank; ``p_values`` is the methods x methods
    matrix of a post-hoc test. With the methods in average-rank order (ties kept in the
    order of ``ranks``), a group is a maximal run of consecutive methods whose every pair
    has ``p >= alpha``; runs of one method and runs inside another are dropped. The groups
    come best-ranked first, each in rank order. Nemenyi p-values fall as the rank difference
    grows, so for them "not significantly different" joins methods within an interval of
    ranks and these runs are exactly the maximal cliques of that relation.
    """
    order = list(ranks.sort_values(kind="stable").index)
    p = p_values.loc[order, order].to_numpy(dtype=float)
    same = ~(p < alpha)  # NaN counts as not significant, as in per_dataset
    groups: list[list[str]] = []
    reach = 0  # the furthest end of a group so far: a run ending there is inside it
    for start in range(len(order)):
        end = start
        while end + 1 < len(order) and same[start : end + 2, end + 1].all():
            end += 1
        if end > start and end > reach:
            groups.append(order[start : end + 1])
            reach = end
    return groups


@dataclass
class Comparison:
    """Across-dataset statistics."""

    methods: list[str]
    n_datasets: int
    ranks: pd.Series
    friedman_stat: float | None = None
    friedman_p: float | None = None
    nemenyi: pd.DataFrame | None = None  # p-values
    conover: pd.DataFrame | None = None  # Holm-adjusted p-values
    cd: float | None = None
    alpha: float = 0.05
    notes: list[str] = field(default_factory=list)


def compare(df: pd.DataFrame, methods: list[str], alpha: float = 0.05) -> Comparison:
    u = utility_matrix(df, methods)
    cmp = Comparison(
        methods, len(u), average_ranks(u) if len(u) else pd.Series(dtype=float), alpha=alpha
    )
    k, n = len(methods), len(u)
    if k < 3 or n < 2:
        cmp.notes.append(
            f"the Friedman test needs at least 3 methods and 2 datasets with every method complete "
            f"(have {k} methods, {n} datasets)"
        )
        return cmp
    res = stats.friedmanchisquare(*[u[m].to_numpy() for m in methods])
    cmp.friedman_stat, cmp.friedman_p = float(res.statistic), float(res.pvalue)
    # post-hoc tests rank within blocks; negated utilities so rank 1 is the best method
    loss = -u.to_numpy()
    cmp.nemenyi = pd.DataFrame(nemenyi_friedman(loss), index=methods, columns=methods)
    cmp.conover = pd.DataFrame(
        conover_friedman(loss, p_adjust="holm"), index=methods, columns=methods
    )
    cmp.cd = nemenyi_cd(k, n, alpha)
    if n < 10:
        cmp.notes.append(
            f"only {n} datasets: the Friedman and post-hoc tests have little power (Demšar suggests 10 or more)"
        )
    return cmp


def win_tie_loss(
    per: pd.DataFrame, df: pd.DataFrame, methods: list[str], alpha: float = 0.05
) -> pd.DataFrame:
    """Counts "W/T/L" of row method against column method over datasets."""
    df = df.assign(utility=_utility(df))
    out = pd.DataFrame("", index=methods, columns=methods)
    for a in methods:
        for b in methods:
            if a == b:
                out.loc[a, b] = "-"
                continue
            w = t = lo = 0
            for _, d in df.groupby("dataset"):
                ua = d[d["method"] == a].set_index("seed")["utility"]
                ub = d[d["method"] == b].set_index("seed")["utility"]
                common = ua.index.intersection(ub.index)
                if len(common) == 0:
                    continue
                diff = ua[common] - ub[common]
                if len(common) >= 2 and not np.allclose(diff, diff.iloc[0]):
                    p = float(stats.ttest_rel(ua[common], ub[common]).pvalue)
                else:
                    p = 0.0 if abs(diff.mean()) > 0 else 1.0
                if p < alpha and diff.mean() > 0:
                    w += 1
                elif p < alpha and diff.mean() < 0:
                    lo += 1
                else:
                    t += 1
            out.loc[a, b] = f"{w}/{t}/{lo}"
    return out

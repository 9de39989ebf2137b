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
* post-hoc tests from scikit-posthocs: Nemenyi (``posthoc_nemenyi_friedman``) and
  Conover with Holm correction (``posthoc_conover_friedman``), and the Nemenyi critical
  difference ``q_alpha * sqrt(k (k + 1) / (6 N))`` with ``q_alpha`` from the studentised
  range distribution;
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


def nemenyi_cd(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of average ranks for ``k`` methods on ``n`` datasets."""
    q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2)
    return float(q * np.sqrt(k * (k + 1) / (6.0 * n)))


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
    import scikit_posthocs as sp

    res = stats.friedmanchisquare(*[u[m].to_numpy() for m in methods])
    cmp.friedman_stat, cmp.friedman_p = float(res.statistic), float(res.pvalue)
    # post-hoc tests rank within blocks; negated utilities so rank 1 is the best method
    loss = -u.to_numpy()
    cmp.nemenyi = pd.DataFrame(
        np.asarray(sp.posthoc_nemenyi_friedman(loss)), index=methods, columns=methods
    )
    cmp.conover = pd.DataFrame(
        np.asarray(sp.posthoc_conover_friedman(loss, p_adjust="holm")),
        index=methods,
        columns=methods,
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

"""Signal metrics: information coefficient per period and a simple backtest.

* **IC** (information coefficient): Spearman rank correlation between the prediction and
  the realised outcome, computed within each period (a calendar month of a single series,
  or one date's cross-section of a panel). Its summary is the mean IC, the t-statistic of
  that mean (``mean / std * sqrt(n_periods)``; |t| < 2 means the signal is not
  distinguishable from zero at about the 5 % level) and the hit rate (share of periods
  with a positive IC).
* **Backtest** for return targets: each period's position is ``sign(prediction)``
  (sign-following; for a panel, long the top and short the bottom fraction of each date,
  equal weights, dollar-neutral). The position earns the realised one-period return;
  changing position costs ``cost_bps`` basis points per unit of turnover. Reported: the
  cumulative return curve (compounded), the annualised Sharpe ratio
  (``mean / std * sqrt(periods_per_year)``) and the maximum drawdown (largest fall of the
  curve from its running peak, as a fraction).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats


def ic_per_period(pred: np.ndarray, outcome: np.ndarray, period: np.ndarray) -> pd.DataFrame:
    """One row per period with at least 3 rows: ``period``, ``ic``, ``n``. A period whose
    predictions (or outcomes) are all equal has no defined rank correlation and is skipped."""
    df = pd.DataFrame({"p": np.asarray(pred, float), "y": np.asarray(outcome, float), "g": period})
    rows = []
    for g, d in df.groupby("g", sort=True):
        if len(d) < 3 or d["p"].nunique() < 2 or d["y"].nunique() < 2:
            continue
        rho = stats.spearmanr(d["p"], d["y"]).statistic
        rows.append({"period": g, "ic": float(rho), "n": len(d)})
    return pd.DataFrame(rows, columns=["period", "ic", "n"])


def ic_summary(ics: pd.DataFrame) -> dict[str, float]:
    """Mean IC, its standard deviation, t-statistic, hit rate and number of periods."""
    v = ics["ic"].to_numpy(dtype=float)
    n = len(v)
    mean = float(np.mean(v)) if n else float("nan")
    std = float(np.std(v, ddof=1)) if n > 1 else float("nan")
    t = mean / std * np.sqrt(n) if n > 1 and std > 0 else float("nan")
    p = float(2 * stats.t.sf(abs(t), n - 1)) if np.isfinite(t) else float("nan")
    return {
        "ic_mean": mean,
        "ic_std": std,
        "ic_t": float(t),
        "ic_p": p,
        "hit_rate": float(np.mean(v > 0)) if n else float("nan"),
        "n_periods": n,
    }


@dataclass
class Backtest:
    """Per-period strategy returns and their summary."""

    returns: pd.Series  # net strategy return per period (index: period start)
    gross: pd.Series
    turnover: pd.Series
    summary: dict[str, float] = field(default_factory=dict)

    @property
    def curve(self) -> pd.Series:
        """Compounded growth of 1 unit."""
        return (1.0 + self.returns).cumprod()


def max_drawdown(curve: pd.Series) -> float:
    """Largest fall from a running peak, as a positive fraction (0.25 = -25 %)."""
    c = np.asarray(curve, float)
    if not len(c):
        return 0.0
    peak = np.maximum.accumulate(np.maximum(c, 1.0))
    return float(np.max(1.0 - c / peak))


def sharpe(returns: pd.Series, periods_per_year: float) -> float:
    r = np.asarray(returns, float)
    sd = np.std(r, ddof=1) if len(r) > 1 else 0.0
    return float(np.mean(r) / sd * np.sqrt(periods_per_year)) if sd > 0 else float("nan")


def backtest(
    pred: np.ndarray,
    realised: np.ndarray,
    time: np.ndarray,
    *,
    entity: np.ndarray | None = None,
    cost_bps: float = 0.0,
    periods_per_year: float = 252.0,
    quantile: float = 0.2,
) -> Backtest:
    """Sign-following (single series) or long/short top-bottom ``quantile`` (panel)
    backtest. ``realised`` is the return each row's position earns over the next period."""
    df = pd.DataFrame({"p": np.asarray(pred, float), "r": np.asarray(realised, float), "t": time})
    if entity is not None:
        df["e"] = entity
    else:
        df["e"] = 0
    df = df.dropna(subset=["p", "r"])
    if entity is None:
        df["w"] = np.sign(df["p"])
    else:

        def weights(d: pd.DataFrame) -> pd.Series:
            rank = d["p"].rank(pct=True, method="average")
            w = np.where(rank > 1 - quantile, 1.0, np.where(rank <= quantile, -1.0, 0.0))
            n_long, n_short = (w > 0).sum(), (w < 0).sum()
            w = np.where(w > 0, w / max(n_long, 1), np.where(w < 0, w / max(n_short, 1), 0.0))
            return pd.Series(w, index=d.index)

        df["w"] = df.groupby("t", group_keys=False)[["p"]].apply(weights)
    df = df.sort_values(["t", "e"], kind="stable")
    gross = (df["w"] * df["r"]).groupby(df["t"]).sum()
    w = df.pivot_table(index="t", columns="e", values="w", aggfunc="sum").fillna(0.0)
    turnover = w.diff().abs().sum(axis=1)
    turnover.iloc[0] = w.iloc[0].abs().sum()  # entering the first position trades too
    net = gross - turnover.reindex(gross.index).fillna(0.0) * cost_bps / 1e4
    bt = Backtest(net, gross, turnover)
    curve = bt.curve
    years = len(net) / periods_per_year
    total = float(curve.iloc[-1] - 1.0) if len(curve) else 0.0
    bt.summary = {
        "sharpe": sharpe(net, periods_per_year),
        "sharpe_gross": sharpe(gross, periods_per_year),
        "total_return": total,
        "annual_return": float((1 + total) ** (1 / years) - 1)
        if years > 0 and total > -1
        else float("nan"),
        "max_drawdown": max_drawdown(curve),
        "mean_turnover": float(turnover.mean()) if len(turnover) else 0.0,
        "cost_bps": float(cost_bps),
        "n_periods": int(len(net)),
    }
    return bt


def direction_accuracy(pred: np.ndarray, outcome: np.ndarray) -> float:
    """Share of rows where the prediction has the sign of the outcome (zeros excluded)."""
    p, y = np.sign(np.asarray(pred, float)), np.sign(np.asarray(outcome, float))
    m = (p != 0) & (y != 0)
    return float(np.mean(p[m] == y[m])) if m.any() else float("nan")


def to_jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in d.items()}

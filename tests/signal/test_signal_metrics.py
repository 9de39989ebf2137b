"""IC per period, its summary, and the backtest, checked against hand computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlresearcher.signal import metrics as sm


def test_ic_per_period_is_spearman_within_each_period():
    rng = np.random.default_rng(0)
    n = 300
    period = np.repeat(np.arange(10), 30)
    y = rng.standard_normal(n)
    pred = 0.3 * y + rng.standard_normal(n)
    ics = sm.ic_per_period(pred, y, period)
    assert len(ics) == 10
    for g in range(10):
        m = period == g
        assert ics.loc[ics["period"] == g, "ic"].item() == pytest.approx(
            stats.spearmanr(pred[m], y[m]).statistic
        )
    s = sm.ic_summary(ics)
    v = ics["ic"].to_numpy()
    assert s["ic_mean"] == pytest.approx(v.mean())
    assert s["ic_t"] == pytest.approx(v.mean() / v.std(ddof=1) * np.sqrt(10))
    assert s["ic_p"] == pytest.approx(stats.ttest_1samp(v, 0).pvalue)
    assert s["hit_rate"] == pytest.approx(np.mean(v > 0))


def test_constant_predictions_give_no_ic_rather_than_an_error():
    ics = sm.ic_per_period(np.ones(30), np.arange(30.0), np.zeros(30))
    assert ics.empty and np.isnan(sm.ic_summary(ics)["ic_mean"])


def test_sign_following_backtest_with_costs_by_hand():
    t = pd.date_range("2020-01-01", periods=4, freq="D").to_numpy()
    pred = np.array([1.0, 2.0, -1.0, -3.0])
    realised = np.array([0.01, -0.02, -0.03, 0.01])
    bt = sm.backtest(pred, realised, t, cost_bps=10, periods_per_year=252)
    # positions +1, +1, -1, -1; turnover 1 (entry), 0, 2, 0; cost 10 bp per unit
    np.testing.assert_allclose(bt.turnover.to_numpy(), [1, 0, 2, 0])
    expected = np.array([0.01 - 0.001, -0.02, 0.03 - 0.002, -0.01])
    np.testing.assert_allclose(bt.returns.to_numpy(), expected)
    np.testing.assert_allclose(bt.curve.to_numpy(), np.cumprod(1 + expected))
    assert bt.summary["sharpe"] == pytest.approx(
        expected.mean() / expected.std(ddof=1) * np.sqrt(252)
    )
    curve = np.cumprod(1 + expected)
    peak = np.maximum.accumulate(np.maximum(curve, 1.0))
    assert bt.summary["max_drawdown"] == pytest.approx(np.max(1 - curve / peak))
    assert bt.summary["max_drawdown"] > 0.02


def test_panel_backtest_is_long_top_short_bottom_and_dollar_neutral():
    t = np.repeat(pd.date_range("2020-01-01", periods=2).to_numpy(), 5)
    ent = np.tile(list("abcde"), 2)
    pred = np.array([5, 4, 3, 2, 1, 1, 2, 3, 4, 5], float)
    realised = np.array([0.02, 0, 0, 0, -0.01, 0.03, 0, 0, 0, 0.01])
    bt = sm.backtest(pred, realised, t, entity=ent, quantile=0.2)
    # day 1: long a, short e -> 0.02 + 0.01; day 2: long e, short a -> 0.01 - 0.03
    np.testing.assert_allclose(bt.gross.to_numpy(), [0.03, -0.02])
    np.testing.assert_allclose(bt.turnover.to_numpy(), [2, 4])

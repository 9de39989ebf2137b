"""A planted look-ahead feature: shuffled k-fold profits from it, walk-forward does not.

The label is the forward 10-day return of the Dow Jones (rows 10 days apart share no
return; neighbouring rows share 9 of 10). The planted feature is a *hindsight regime id*:
episodes of consecutive days whose forward return has the same sign, numbered in order --
something only known once the future is known. Shuffled k-fold trains on the neighbours
of every test day, inside the same episode, and learns each episode's sign; walk-forward
with a 10-day gap only ever sees episodes that ended before the test block.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import load_dataset
from scipy import stats

from mlresearcher.signal.research import SignalSpec, build_frame, predict_folds, shuffled_folds
from mlresearcher.signal.walkforward import parse_span, walk_forward_folds

H = 10
METHOD = {
    "name": "extra_trees",
    "estimator": "sklearn.ensemble.ExtraTreesRegressor",
    "params": {"n_estimators": 60, "min_samples_leaf": 5, "n_jobs": 2},
}


def _scores(pred: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    ic = stats.spearmanr(pred, y).statistic
    r2 = 1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2)
    return float(ic), float(r2)


@pytest.fixture(scope="module")
def outcome() -> dict:
    df, _ = load_dataset("nyse_log_volume")
    spec = SignalSpec(
        name="planted",
        data="",
        time="date",
        label_column="DJ_return",
        horizon=H,
        columns=["DJ_return", "log_volatility"],
        lags={"DJ_return": [1, 2]},
        rolling={},
        methods=[METHOD],
        folds=4,
        gap=H,
    )
    fr = build_frame(df.iloc[:3000], spec)
    sign = np.sign(fr.y)
    planted = np.cumsum(np.r_[0, (sign[1:] != sign[:-1]).astype(int)])
    walk = walk_forward_folds(fr.time, 4, gap=parse_span(H, "gap"))
    rows = np.sort(np.concatenate([te for _, te in walk]))
    shuffled = shuffled_folds(len(fr.y), 4, seed=0)
    out = {}
    for with_plant in (False, True):
        X = fr.X.assign(regime_id=planted) if with_plant else fr.X
        for name, folds in (("walk", walk), ("shuffled", shuffled)):
            pred = predict_folds(METHOD, X, fr.y, folds)
            out[name, with_plant] = _scores(pred[rows], fr.y[rows])
    return out


def test_shuffled_kfold_profits_from_the_planted_look_ahead(outcome):
    ic_clean, r2_clean = outcome["shuffled", False]
    ic_plant, r2_plant = outcome["shuffled", True]
    assert ic_plant > ic_clean + 0.3  # measured: +0.56
    assert r2_plant > r2_clean + 0.15  # measured: +0.34


def test_walk_forward_does_not_profit_from_it(outcome):
    ic_clean, r2_clean = outcome["walk", False]
    ic_plant, r2_plant = outcome["walk", True]
    assert ic_plant < ic_clean + 0.05  # measured: -0.04
    assert r2_plant < r2_clean + 0.02  # measured: -0.13 (it only hurts)
    assert r2_plant < 0.05

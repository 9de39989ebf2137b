"""Lagged and rolling features use the past only, per entity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import load_dataset

from mlresearcher.errors import ConfigError
from mlresearcher.signal.features import add_past_features, forward_label, parse_column_ints


def test_lags_and_rolling_never_change_when_the_future_changes():
    df, _ = load_dataset("nyse_log_volume")
    df = df.iloc[:600].sample(frac=1.0, random_state=0)  # input order must not matter
    spec = dict(lags={"log_volume": [1, 5]}, rolling={"DJ_return": [3, 20]})
    base = add_past_features(df, "date", **spec)
    cut = df["date"].sort_values().iloc[400]
    future = df["date"] > cut
    changed = df.copy()
    rng = np.random.default_rng(0)
    changed.loc[future, "log_volume"] = rng.normal(size=future.sum())
    changed.loc[future, "DJ_return"] = rng.normal(size=future.sum())
    again = add_past_features(changed, "date", **spec)
    new_cols = [c for c in base.columns if c not in df.columns]
    assert new_cols == [
        "log_volume_lag1",
        "log_volume_lag5",
        "DJ_return_mean3",
        "DJ_return_std3",
        "DJ_return_mean20",
        "DJ_return_std20",
    ]
    pd.testing.assert_frame_equal(base.loc[~future, new_cols], again.loc[~future, new_cols])
    assert not base.loc[future, new_cols].equals(again.loc[future, new_cols])
    # lag 1 is the previous day's value; the rolling mean excludes the row itself
    s = base.sort_values("date")
    np.testing.assert_allclose(s["log_volume_lag1"].iloc[1:], s["log_volume"].iloc[:-1])
    np.testing.assert_allclose(
        s["DJ_return_mean3"].iloc[3:], s["DJ_return"].rolling(3).mean().shift(1).iloc[3:]
    )


def test_panel_features_stay_within_each_entity():
    df, _ = load_dataset("restaurant_inspection_score", n=4000)
    out = add_past_features(df, "Year", lags={"inspection_score": [1]}, entity="business_name")
    busiest = out["business_name"].value_counts().index[:40]
    for _, g in out[out["business_name"].isin(busiest)].groupby("business_name"):
        g = g.sort_values("Year", kind="stable")
        assert np.isnan(g["inspection_score_lag1"].iloc[0])
        np.testing.assert_allclose(
            g["inspection_score_lag1"].iloc[1:], g["inspection_score"].iloc[:-1]
        )


def test_forward_label_looks_exactly_horizon_rows_ahead():
    df, _ = load_dataset("nyse_log_volume")
    d = df.iloc[:50]
    y = forward_label(d, "DJ_return", 3, "date")
    r = d["DJ_return"].to_numpy()
    np.testing.assert_allclose(y.iloc[:47], [r[i + 1 : i + 4].sum() for i in range(47)])
    assert y.iloc[47:].isna().all()


def test_bad_feature_specs_are_user_errors():
    with pytest.raises(ConfigError, match="COLUMN:N"):
        parse_column_ints(["x:0"], "--lag")
    with pytest.raises(ConfigError, match="COLUMN:N"):
        parse_column_ints(["x"], "--lag")
    df, _ = load_dataset("nyse_log_volume")
    with pytest.raises(ConfigError, match="not numeric"):
        add_past_features(df.iloc[:20], "date", lags={"day_of_week": [1]})

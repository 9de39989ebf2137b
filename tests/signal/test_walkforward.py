"""Walk-forward folds: order, purging gap, embargo, rolling windows, panels, spans."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import load_dataset

from mlresearcher.data.protocol import make_protocol
from mlresearcher.errors import ConfigError, DataError
from mlresearcher.signal.walkforward import parse_span, walk_forward_folds


@pytest.fixture(scope="module")
def nyse() -> pd.DataFrame:
    df, _ = load_dataset("nyse_log_volume")
    return df.iloc[:1200].reset_index(drop=True)


def test_expanding_window_trains_only_on_the_past_with_the_gap_purged(nyse):
    t = nyse["date"]
    h = 5  # a label that looks 5 rows ahead
    folds = walk_forward_folds(t, 4, gap=parse_span(h, "gap"))
    assert len(folds) == 4
    order = np.argsort(t.to_numpy(), kind="stable")
    pos = np.empty(len(t), int)
    pos[order] = np.arange(len(t))
    prev_test_end = -1
    for tr, te in folds:
        # every training row's label window [p, p + h] ends before the first test row
        assert pos[tr].max() + h < pos[te].min()
        assert pos[te].min() > prev_test_end  # test blocks move forward, never overlap
        prev_test_end = pos[te].max()
        # exactly the h rows before the test block are purged (expanding: all else kept)
        assert len(tr) == pos[te].min() - h
    tested = np.concatenate([te for _, te in folds])
    assert len(np.unique(tested)) == len(tested)


def test_rolling_window_keeps_a_fixed_training_length(nyse):
    folds = walk_forward_folds(
        nyse["date"], 3, window="rolling", train_size=parse_span(200, "t"), gap=parse_span(2, "g")
    )
    assert all(len(tr) == 200 for tr, _ in folds)


def test_purged_kfold_embargoes_rows_after_the_test_block(nyse):
    t = nyse["date"]
    folds = walk_forward_folds(
        t, 4, window="purged", gap=parse_span(3, "g"), embargo=parse_span(10, "e")
    )
    assert len(folds) == 4
    for i, (tr, te) in enumerate(folds):
        lo, hi = te.min(), te.max()  # nyse rows are already in date order
        assert not np.any((tr >= lo - 3) & (tr < lo))
        assert not np.any((tr > hi) & (tr <= hi + 10))
        if i < 3:
            assert np.any(tr > hi)  # purged k-fold does train on later rows


def test_gap_in_time_units(nyse):
    t = nyse["date"]
    folds = walk_forward_folds(t, 3, gap=parse_span("14D", "gap"))
    for tr, te in folds:
        assert t[tr].max() < t[te].min() - pd.Timedelta("14D")
        assert t[tr].max() >= t[te].min() - pd.Timedelta("21D")  # only ~two weeks purged


def test_panel_rows_sharing_a_time_stamp_stay_on_one_side():
    df, _ = load_dataset("restaurant_inspection_score", n=3000)
    folds = walk_forward_folds(df["Year"], 4, gap=parse_span(1, "g"))
    for tr, te in folds:
        assert df["Year"].iloc[tr].max() + 1 < df["Year"].iloc[te].min()


def test_make_protocol_switches_to_walk_forward_and_describes_it(nyse):
    p = make_protocol(
        nyse["log_volume"].to_numpy(), "regression", time=nyse["date"], folds=3, gap="2"
    )
    assert p.kind == "walk_forward" and p.n_folds == 3
    assert "gap 2 periods" in p.description
    with pytest.raises(ConfigError, match="need --time"):
        make_protocol(nyse["log_volume"].to_numpy(), "regression", gap="2")


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"gap": parse_span("5D", "gap")}, "durations"),
        ({"window": "rolling"}, "training size"),
        ({"window": "sideways"}, "unknown window"),
    ],
)
def test_bad_walk_forward_options_are_user_errors(kwargs, error):
    t = pd.Series(np.arange(100), name="step")
    with pytest.raises(ConfigError, match=error):
        walk_forward_folds(t, 3, **kwargs)


def test_spans_parse_or_explain():
    assert parse_span("7", "g").periods == 7
    assert parse_span("36h", "g").duration == pd.Timedelta(hours=36)
    with pytest.raises(ConfigError, match="--gap"):
        parse_span("soon", "--gap")
    with pytest.raises(DataError, match="too few"):
        walk_forward_folds(pd.Series(np.arange(6)), 5)

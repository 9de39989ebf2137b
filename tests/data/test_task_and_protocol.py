"""Task inference, target checks and the evaluation protocol."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlresearcher.data.protocol import make_protocol
from mlresearcher.data.task import encode_target, find_target_column, infer_task
from mlresearcher.errors import DataError


@pytest.mark.parametrize(
    "values,task",
    [
        (["a", "b"] * 20, "binary"),
        ([True, False] * 20, "binary"),
        ([0, 1] * 20, "binary"),
        (["a", "b", "c"] * 20, "multiclass"),
        ([1, 2, 3] * 30, "multiclass"),
        (list(np.linspace(0, 1, 60)), "regression"),
        (list(range(60)), "regression"),
    ],
)
def test_task_is_inferred(values, task):
    assert infer_task(pd.Series(values)) == task


def test_missing_target_rows_are_dropped_with_a_finding():
    y = pd.Series([0, 1, None, 1, 0, 1, 0, 1, 0, 1, 0, 1], dtype="float")
    t, keep = encode_target(y, "y")
    assert keep.sum() == 11 and len(t.y) == 11
    assert any(f.code == "missing_target" for f in t.findings)


@pytest.mark.parametrize(
    "values,message",
    [
        ([None] * 12, "no values"),
        ([1] * 12, "constant"),
        ([0, 1, 0, 1], "too few rows"),
        (["a"] * 10 + ["b"] * 10 + ["c"], "single row"),
    ],
)
def test_bad_targets_are_clear_errors(values, message):
    with pytest.raises(DataError, match=message):
        encode_target(pd.Series(values, dtype=object), "y")


def test_absent_target_suggests_close_names():
    with pytest.raises(DataError, match="did you mean 'species'"):
        find_target_column(["species", "island"], "specie")


def test_folds_cover_every_row_once_and_are_stratified():
    y = np.array([0] * 300 + [1] * 3000)
    p = make_protocol(y, "binary", seed=0)
    assert p.kind == "kfold" and p.n_folds == 5
    seen = np.concatenate([va for _, va in p.folds])
    assert sorted(seen.tolist()) == list(range(len(y)))
    for tr, va in p.folds:
        assert not set(tr) & set(va)
        assert abs(y[va].mean() - y.mean()) < 0.01


def test_small_data_gets_repeated_cv_and_large_data_a_holdout():
    assert make_protocol(np.array([0, 1] * 100), "binary").kind == "repeated_kfold"
    big = make_protocol(np.zeros(300_000), "regression")
    assert big.kind == "holdout" and big.n_folds == 1


def test_group_folds_never_split_a_group():
    rng = np.random.default_rng(0)
    groups = pd.Series(rng.integers(0, 40, 500), name="g")
    y = rng.integers(0, 2, 500)
    p = make_protocol(y, "binary", groups=groups)
    for tr, va in p.folds:
        assert not set(groups[tr]) & set(groups[va])


def test_time_split_validates_only_on_later_rows():
    t = pd.Series(pd.date_range("2020-01-01", periods=300, freq="D"), name="d").sample(
        frac=1, random_state=0
    )
    p = make_protocol(np.zeros(300), "regression", time=t)
    tv = t.reset_index(drop=True)
    for tr, va in p.folds:
        assert tv[tr].max() < tv[va].min()

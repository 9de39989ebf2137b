"""The null check fires on a planted leak and stays quiet without one."""

from __future__ import annotations

import numpy as np
import pandas as pd
from conftest import load_dataset

from mlresearcher.analysis import best_pipeline
from mlresearcher.analysis._common import first_repeat_folds
from mlresearcher.analysis.null_check import null_check, record_permutation
from mlresearcher.data.schema import prepare_features
from mlresearcher.engine import RunConfig, run, split_target


def _null_check(df: pd.DataFrame):
    X, y = split_target(df, "Status")
    cfg = RunConfig(time_limit=None, max_trials=1, families=["knn"], folds=5, repeats=1)
    rr = run(X, y, cfg)
    Xp = prepare_features(X.reset_index(drop=True), rr.schema)
    trial, family, ctx = best_pipeline(rr, len(Xp))
    return rr, null_check(
        Xp,
        rr.target.y,
        family=family,
        params=trial.params,
        ctx=ctx,
        folds=first_repeat_folds(rr.protocol),
        metric=rr.metric,
        seed=1,
    )


def test_null_check_quiet_on_clean_data_and_fires_on_duplicated_records():
    df, _ = load_dataset("credit_scoring", 400)
    df = df.drop_duplicates().reset_index(drop=True)
    _, clean = _null_check(df)
    assert not clean["alarm"]
    assert clean["test"]["p"] > 0.01
    assert abs(clean["model_score"] - 0.5) < 0.1  # ROC AUC at chance on noise
    # The planted leak: every record appears twice (a careless join keyed by row id), so a
    # record's copy sits in the training folds while it is validated. The target of a
    # record, permuted or not, then travels across the fold boundary.
    leaky = pd.concat([df, df], ignore_index=True).sample(frac=1.0, random_state=0)
    _, leak = _null_check(leaky.reset_index(drop=True))
    assert leak["alarm"], leak
    assert leak["test"]["p"] < 0.01 and leak["model_score"] > 0.6


def test_record_permutation_moves_duplicates_together():
    Xp = pd.DataFrame({"a": [1.0, 2.0, 1.0, 3.0, 4.0, 2.0], "b": list("xyxzwy")})
    y = np.array([0, 1, 0, 1, 0, 1])
    seen = set()
    for seed in range(20):
        p = record_permutation(Xp, y, seed)
        assert p[0] == p[2] and p[1] == p[5]  # the copies keep one label
        seen.add(tuple(p))
    assert len(seen) > 1  # and the labels do move
    distinct = pd.DataFrame({"a": np.arange(50.0)})
    ys = np.arange(50) % 3
    p = record_permutation(distinct, ys, 0)
    assert sorted(p) == sorted(ys) and not np.array_equal(p, ys)

"""No leakage by construction: a fold's models never see its validation rows.

The proof: run the same campaign twice on the same folds, the second time with the
validation rows of fold 0 scrambled (features replaced by noise and unseen categories,
labels flipped). Every model trained for fold 0 must then predict exactly as before,
because nothing it learned (imputation, scaling, one-hot and target encodings, category
codes, early-stopping splits, the model itself) came from those rows. As a control, the
models of the other folds, which do train on those rows, must change.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from conftest import load_dataset

from mlresearcher.data.protocol import make_protocol
from mlresearcher.data.schema import build_schema, infer_roles, prepare_features
from mlresearcher.data.task import encode_target
from mlresearcher.metrics import get_metric
from mlresearcher.models.base import predict_scores
from mlresearcher.models.registry import get_families
from mlresearcher.search.campaign import Campaign

FAMILIES = ["linear", "knn", "lightgbm", "xgboost", "hist_gb", "random_forest", "catboost"]


def _campaign(X: pd.DataFrame, y: pd.Series, protocol, families, schema=None):
    target, _ = encode_target(y, "y")
    if schema is None:  # column roles are decided once per run, like dtypes; reuse them
        infos, _ = infer_roles(X)
        schema = build_schema(X, infos)
    Xp = prepare_features(X, schema)
    camp = Campaign(
        Xp,
        target,
        schema,
        protocol,
        get_metric(None, target.task),
        families,
        max_trials=len(families),
        keep_top=len(families),
    )
    return camp.run(), schema


def test_fold_models_are_blind_to_their_validation_rows():
    df, _ = load_dataset("recidivism_two_year", n=1200)
    y = df.pop("two_year_recid")
    X = df
    assert any(
        r.role == "high_cardinality" for r in infer_roles(X)[0]
    )  # target encoding is exercised
    target, _ = encode_target(y, "y")
    protocol = make_protocol(target.y, target.task, seed=0, folds=3, repeats=1)
    assert protocol.kind == "kfold"
    families = get_families(FAMILIES)
    before, schema = _campaign(X, y, protocol, families)

    rng = np.random.default_rng(1)
    va0 = protocol.folds[0][1]
    X2, y2 = X.copy(), y.copy()
    for c in X2.columns:
        if pd.api.types.is_numeric_dtype(X2[c]):
            X2[c] = X2[c].astype("float64")
            X2.loc[va0, c] = rng.normal(1e6, 1e6, len(va0))
        else:
            X2[c] = X2[c].astype(object)
            X2.loc[va0, c] = [f"never-seen-{i}" for i in range(len(va0))]
    y2.loc[va0] = 1 - y2.loc[va0]
    after, _ = _campaign(X2, y2, protocol, families, schema)

    probe = prepare_features(X, schema)
    assert [t.family for t in before.trials] == [t.family for t in after.trials]
    for b, a in zip(before.trials, after.trials, strict=True):
        assert b.status == a.status == "complete", (b.family, b.error, a.error)
        p0b = predict_scores(b.models[0], probe, "binary", 2)
        p0a = predict_scores(a.models[0], probe, "binary", 2)
        np.testing.assert_array_equal(
            p0b, p0a, err_msg=f"{b.family}: fold 0 model saw its validation rows"
        )
        p1b = predict_scores(b.models[1], probe, "binary", 2)
        p1a = predict_scores(a.models[1], probe, "binary", 2)
        assert not np.array_equal(p1b, p1a), f"{b.family}: control failed, fold 1 should change"

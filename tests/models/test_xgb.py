"""XGBoost predictions straight from the array."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from mlresearcher.data.schema import build_schema, infer_roles, prepare_features
from mlresearcher.data.task import encode_target
from mlresearcher.models.xgb import XGBoostModel
from tests.conftest import load_dataset

xgb = pytest.importorskip("xgboost")


@pytest.mark.parametrize("native_categorical", [True, False])
def test_predictions_equal_those_through_a_dmatrix(native_categorical):
    df, entry = load_dataset("penguins_species")
    X = df.drop(columns=[entry["target"]])
    target, _ = encode_target(df[entry["target"]], entry["target"], None)
    infos, _ = infer_roles(X)
    schema = build_schema(X, infos)
    Xp = prepare_features(X, schema)
    model = XGBoostModel(
        task=target.task,
        n_classes=target.n_classes,
        feature_roles=schema.feature_roles,
        n_jobs=2,
        num_boost_round=40,
        native_categorical=native_categorical,
    ).fit(Xp, target.y)
    Xt = model.preprocessor_.transform(Xp)
    through_dmatrix = model.booster_.predict(
        model._dmatrix(Xt), iteration_range=(0, model.n_iterations_)
    )
    np.testing.assert_array_equal(model._predict_learner(Xt), through_dmatrix)
    loaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(loaded._predict_learner(Xt[:1]), through_dmatrix[:1])
    np.testing.assert_array_equal(loaded.predict_proba(Xp), model.predict_proba(Xp))
    # the thread count of a prediction is the caller's OpenMP limit, not fit's n_jobs
    config = json.loads(loaded.booster_.save_config())["learner"]["generic_param"]
    assert config["nthread"] == "0"

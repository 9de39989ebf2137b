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


def _fit(target_name: str, **params):
    """An XGBoost model on penguins (rows with the target), and its prepared features."""
    df, _ = load_dataset("penguins_species")
    df = df.dropna(subset=[target_name])
    X = df.drop(columns=[target_name])
    target, _ = encode_target(df[target_name], target_name, None)
    schema = build_schema(X, infer_roles(X)[0])
    Xp = prepare_features(X, schema)
    model = XGBoostModel(
        task=target.task,
        n_classes=target.n_classes,
        feature_roles=schema.feature_roles,
        n_jobs=2,
        **params,
    ).fit(Xp, target.y)
    return model, Xp


@pytest.mark.parametrize("native_categorical", [True, False])
def test_predictions_equal_those_through_a_dmatrix(native_categorical):
    model, Xp = _fit("species", num_boost_round=40, native_categorical=native_categorical)
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


@pytest.mark.parametrize("target_name", ["species", "body_mass_g"])
def test_the_compiled_c_api_call_equals_inplace_predict(target_name):
    """The compiled ensemble's direct call gives the numbers of ``inplace_predict`` for any
    number of rows, on a one-thread copy that leaves the model's own booster as it was."""
    from mlresearcher.models.compiled import CompiledModel, _XGBoostRows, compile_estimator

    model, Xp = _fit(target_name, num_boost_round=30)
    Xt = model.preprocessor_.transform(Xp)
    rows = _XGBoostRows(model.booster_, model.n_iterations_)
    for n in (1, 5, len(Xt)):
        expected = model.booster_.inplace_predict(
            np.asarray(Xt[:n], dtype=np.float32), iteration_range=(0, model.n_iterations_)
        )
        got = rows(Xt[:n])
        assert got.shape == expected.shape and got.dtype == np.float64
        np.testing.assert_array_equal(got, expected)
    with pytest.raises(ValueError, match="columns"):
        rows(Xt[:2, :-1])

    def nthread(booster):
        return json.loads(booster.save_config())["learner"]["generic_param"]["nthread"]

    assert nthread(rows.booster) == "1"
    assert nthread(model.booster_) == "0"
    compiled = compile_estimator(model)
    assert isinstance(compiled, CompiledModel) and compiled.rows_predict is not None
    assert compiled.threads_free(len(Xt))  # no thread limit needed around it

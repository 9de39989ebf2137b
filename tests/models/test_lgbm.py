"""LightGBM fold models on small data: the kept training booster and its pickled form."""

from __future__ import annotations

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest

from mlresearcher import AutoModel


@pytest.fixture(scope="module")
def fitted():
    from conftest import EXAMPLES

    df = pd.read_csv(EXAMPLES / "penguins.csv")
    X = df.drop(columns=["species"])
    model = AutoModel(time_limit=None, max_trials=1, families=["lightgbm"], folds=3, repeats=1)
    return model.fit(X, df["species"]), X


def test_a_pickled_fold_model_predicts_the_same_and_leaves_the_original_intact(fitted, tmp_path):
    model, X = fitted
    p = model.predictor_
    est = p.members[0].models[0]
    Xp = p.prepare(X)
    before = est.predict_proba(Xp)
    assert est.booster_.current_iteration() > est.n_iterations_  # kept: the rounds past the best
    copy = pickle.loads(pickle.dumps(est))
    joblib.dump(est, tmp_path / "m.joblib")
    from_disk = joblib.load(tmp_path / "m.joblib")
    for other in (copy, from_disk):
        assert np.array_equal(other.predict_proba(Xp), before)
        assert other.booster_.num_trees() == est.booster_.num_trees()
        assert other.n_iterations_ == est.n_iterations_
    # the original is untouched by pickling and still predicts; its model string is freed
    assert np.array_equal(est.predict_proba(Xp), before)
    assert "_booster_text" not in est.__dict__
    assert np.array_equal(pickle.loads(pickle.dumps(copy)).predict_proba(Xp), before)


def test_a_saved_model_with_lightgbm_members_predicts_the_same(fitted, tmp_path):
    model, X = fitted
    model.save(tmp_path / "m")
    loaded = AutoModel.load(tmp_path / "m")
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
